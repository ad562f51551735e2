"""An API on loopback for tests: a migrated SQLite store with three users, the test Redis, a fake
clock, and helpers to call it as each user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from redis.asyncio import Redis

from api.app import create_app
from api.appkeys import SETTINGS, STORE
from api.server import start_server
from core.clock import ManualClock
from engine.settings import Settings
from sandbox import Sandbox, SandboxConfig
from schema.store import Store
from schema.users import Role
from tests.engine.runtime.harness import runtime_settings, start_engine

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]
SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused

BODY: dict[str, Any] = {
    "name": "api test",
    "scenario": "b2b_saas",
    "distribution_method": "uniform",
    "start_time": "2026-01-05T00:00:00Z",
    "end_time": "2026-01-12T00:00:00Z",
    "total_records": 200,
    "backfill": True,
}


def api_settings(**changes: object) -> Settings:
    """Settings for an API that reaches no CRM unless told (sandbox and HubSpot refuse);
    ``changes`` are more variables (``DLQ_REPLAY_LIMIT_CAP=2``)."""
    values: dict[str, object] = {
        "SIMCRM_SANDBOX_URL": DEAD_URL,
        "HUBSPOT_BASE_URL": DEAD_URL,
        "TOKEN_ENC_SECRET": SecretStr(SECRET),
        "METRICS_PROM_ENABLED": True,
    }
    return Settings.from_env(**{**values, **changes})


@dataclass
class Api:
    app: web.Application
    client: Client
    keys: dict[str, str]
    clock: ManualClock

    @property
    def store(self) -> Store:
        return self.app[STORE]

    @property
    def settings(self) -> Settings:
        return self.app[SETTINGS]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        """Call as ``who``; returns (status, decoded JSON or None)."""
        response = await self.client.request(method, path, json=body, headers=self.auth(who))
        text = await response.text()
        return response.status, (await response.json() if text else None)

    async def create(self, who: str = "member", **fields: Any) -> dict[str, Any]:
        status, body = await self.call(who, "POST", "/api/simulations", {**BODY, **fields})
        assert status == 201, body
        return dict(body)


async def make_users(url: str) -> dict[str, str]:
    async with Store.open(url, require_schema=False) as store:
        await store.migrate()
        _, member = await store.users.create("member@example.com")
        _, other = await store.users.create("other@example.com")
        _, boss = await store.users.create("boss@example.com", Role.BOSS)
        _, boss2 = await store.users.create("boss2@example.com", Role.BOSS)
    return {"member": member, "other": other, "boss": boss, "boss2": boss2}


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/api.db"


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(
    aiohttp_client: ClientFactory, database_file: str, redis_url: str, redis: Redis
) -> AsyncIterator[ApiFactory]:
    """Build the API (settings changed by variable, ``DLQ_REPLAY_LIMIT_CAP=2``) on the flushed
    test Redis, with three users: member, other (a member too) and boss. Sandbox simulations
    go to a twin of HubSpot (a start checks its account), unless SIMCRM_SANDBOX_URL says
    otherwise."""
    async with Sandbox(SandboxConfig(daily_limit=0)) as twin:

        async def make(**changes: object) -> Api:
            keys = await make_users(database_file)
            clock = ManualClock()
            settings = api_settings(**{"SIMCRM_SANDBOX_URL": twin.url, **changes})
            app = create_app(settings, redis_url=redis_url, database_url=database_file, clock=clock)
            return Api(app, await aiohttp_client(app), keys, clock)

        yield make


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api()


def error_of(body: Any) -> dict[str, Any]:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])


@dataclass
class Stack:
    """A whole SimCRM on loopback: the sandbox, an engine, and the API on a real port."""

    url: str
    keys: dict[str, str]
    sandbox: Sandbox


@pytest.fixture
def hubspot_is_sandbox() -> bool:
    """Whether the stack's HUBSPOT_BASE_URL is its sandbox (so HubSpot tokens can be stored);
    a test module that needs it overrides this fixture."""
    return False


@pytest.fixture
async def stack(
    database_file: str, redis_url: str, redis: Redis, hubspot_is_sandbox: bool
) -> AsyncIterator[Stack]:
    """The sandbox over HTTP, an in-process engine working the test Redis, and the API serving
    the dashboard on a free loopback port (users: member, other, boss, boss2). HubSpot is
    unreachable unless ``hubspot_is_sandbox``."""
    keys = await make_users(database_file)
    async with Sandbox(SandboxConfig(tier=250, daily_limit=0, search_lag_ms=200)) as sandbox:
        hubspot = sandbox.url if hubspot_is_sandbox else DEAD_URL
        settings = runtime_settings(sandbox, METRICS_PROM_ENABLED=True, HUBSPOT_BASE_URL=hubspot)
        engine = await start_engine(settings, redis_url, database_file)
        try:
            running = await start_server(settings, redis_url=redis_url, database_url=database_file)
            try:
                yield Stack(running.url, keys, sandbox)
            finally:
                await running.close()
        finally:
            await engine.stop()
