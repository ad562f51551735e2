"""A whole deployment for one fault: the HubSpot sandbox over HTTP, a private redis-server (AOF on),
a SQLite (or MariaDB) database, `simcrm serve` and `python -m engine` as real processes, each with
its output kept in a file so a test can read every line either wrote.

The run's secrets are values made for it (a HubSpot token, TOKEN_ENC_SECRET, the API key `simcrm
users create` hands out), so a test can look for them in everything the deployment said."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from sandbox import Sandbox
from schema.store import Store
from schema.users import Role
from tests.faults.proxy import Proxy
from tests.support.servers import RedisServer

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Secrets:
    """The values no log line, answer or metric may contain."""

    hubspot_token: str = field(default_factory=lambda: f"pat-na1-{secrets.token_hex(16)}")
    enc_secret: str = field(default_factory=lambda: secrets.token_hex(32))

    def values(self, api_key: str) -> tuple[str, ...]:
        return (api_key, self.hubspot_token, self.enc_secret)


class Service:
    """One `simcrm`/`python -m engine` process; stdout and stderr go to ``log_path``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.exit_codes: list[int] = []

    async def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, stdout=log, stderr=log
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def signal(self, signum: int) -> int:
        """Send ``signum`` and wait for the process to end; its exit status."""
        assert self.process is not None and self.running, f"{self.name} is not running"
        self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        self.exit_codes.append(code)
        return code

    async def close(self) -> int | None:
        """Stop the process with SIGTERM if it runs; its exit status then."""
        return await self.signal(signal.SIGTERM) if self.running else None

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self) -> list[dict[str, Any]]:
        """The process's JSON log lines."""
        return [orjson.loads(line) for line in self.text().splitlines() if line.startswith("{")]


@dataclass
class Stack:
    """Everything one fault case runs against; :meth:`open` starts it, :meth:`close` stops it."""

    folder: Path
    sandbox: Sandbox
    redis: RedisServer
    database_url: str
    proxy: Proxy | None = None  # between the deployment and MariaDB, when it runs on one
    secrets: Secrets = field(default_factory=Secrets)
    settings: dict[str, str] = field(default_factory=dict)
    api: Service | None = None
    workers: list[Service] = field(default_factory=list)
    api_url: str = ""
    api_key: str = ""
    answers: list[str] = field(default_factory=list)  # every HTTP answer the test read

    def env(self, **changes: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
        base.update(
            {
                "REDIS_URL": self.redis.url,
                "DATABASE_URL": self.database_url,
                "TOKEN_ENC_SECRET": self.secrets.enc_secret,
                "HUBSPOT_BASE_URL": self.sandbox.url,
                "SIMCRM_SANDBOX_URL": self.sandbox.url,
                "HUBSPOT_TIER": str(self.sandbox.config.tier),
                "HUBSPOT_DAILY_LIMIT": "0",
                "HUBSPOT_SEARCH_LAG_MS": "300",
                "HUBSPOT_TIMEOUT_MS": "3000",
                "SIMCRM_VISIBILITY_MS": "3000",
                "SIMCRM_GRACE_MS": "2000",
                "SIMCRM_FLUSH_INTERVAL_MS": "300",
                "REDIS_SOCKET_TIMEOUT_MS": "2000",
                "DATABASE_TIMEOUT_MS": "1000",
                "METRICS_PROM_ENABLED": "1",
                "LOG_LEVEL": "debug",  # everything a process can say is scanned for secrets
                "LOG_FORMAT": "json",
                **self.settings,
            }
        )
        base.update(changes)
        return base

    async def open(self) -> Stack:
        async with Store.open(self.database_url, require_schema=False) as store:
            await store.migrate()
            _, self.api_key = await store.users.create("faults@example.com", Role.BOSS)
        await asyncio.gather(self.start_api(), self.start_worker())
        status, _ = await self.call(
            "PUT", "/api/me/hubspot-token", {"token": self.secrets.hubspot_token}
        )
        assert status == 200, status
        return self

    async def start_api(self) -> Service:
        log_path = self.folder / f"api-{len(list(self.folder.glob('api-*.log')))}.log"
        self.api = await Service(
            "api", [str(BIN / "simcrm"), "serve", "--port", "0"], self.env(), log_path
        ).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (found := re.search(r"http://127\.0\.0\.1:\d+", self.api.text())):
            assert self.api.running, f"the API exited: {self.api.text()}"
            assert time.monotonic() < deadline, "the API did not start"
            await asyncio.sleep(0.05)
        self.api_url = found.group(0)
        return self.api

    async def start_worker(self, **changes: str) -> Service:
        log_path = self.folder / f"worker-{len(self.workers)}.log"
        worker = Service("worker", [sys.executable, "-m", "engine"], self.env(**changes), log_path)
        self.workers.append(await worker.start())
        return worker

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An API call with the run's key; the answer's status and JSON body (kept for the
        secret scan)."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        timeout = aiohttp.ClientTimeout(total=15)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.request(method, self.api_url + path, json=body, headers=headers) as response,
        ):
            raw = await response.read()
        self.record(f"{response.status} {dict(response.headers)} {raw.decode(errors='replace')}")
        return response.status, orjson.loads(raw) if raw.startswith((b"{", b"[")) else raw

    def record(self, answer: str) -> None:
        self.answers.append(answer)

    async def close(self) -> dict[str, int | None]:
        """Stop every process still running; the exit status of each one stopped."""
        services = [s for s in [*self.workers, self.api] if s is not None and s.running]
        codes = await asyncio.gather(*(service.close() for service in services))
        return {
            f"{s.name}-{n}": code for n, (s, code) in enumerate(zip(services, codes, strict=True))
        }

    def said(self) -> str:
        """Everything the deployment wrote or answered: its processes' output, HTTP answers."""
        logs = [path.read_text(errors="replace") for path in sorted(self.folder.glob("*.log"))]
        return "\n".join([*logs, *self.answers])
