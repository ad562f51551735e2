"""/api/me/hubspot-token: checked with HubSpot (the sandbox over HTTP), stored encrypted, never
shown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from api.app import create_app
from engine.settings import Settings
from sandbox import Sandbox, SandboxConfig
from schema.store import Store

Client = TestClient[web.Request, web.Application]
GOOD = "pat-na1-11111111-2222-3333-4444-555555559876"
SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(tokens=(GOOD,), portal_id=424242)) as running:
        yield running


async def make_client(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    tmp_path: Path,
    redis_url: str,
    sandbox: Sandbox,
    secret: str | None = SECRET,
) -> tuple[Client, str, Store]:
    url = f"sqlite+aiosqlite:///{tmp_path}/api.db"
    async with Store.open(url, require_schema=False) as store:
        await store.migrate()
        _, key = await store.users.create("owner@example.com")
    settings = Settings.from_env(
        HUBSPOT_BASE_URL=sandbox.url,
        TOKEN_ENC_SECRET=SecretStr(secret) if secret else None,
    )
    client = await aiohttp_client(create_app(settings, redis_url=redis_url, database_url=url))
    return client, key, store


async def test_put_get_delete_never_shows_the_token(
    aiohttp_client: Any, tmp_path: Path, redis_url: str, sandbox: Sandbox
) -> None:
    """PUT stores a good token with its portal id; GET shows its last four only; DELETE removes."""
    client, key, _ = await make_client(aiohttp_client, tmp_path, redis_url, sandbox)
    auth = {"Authorization": f"Bearer {key}"}
    put = await client.put("/api/me/hubspot-token", json={"token": GOOD}, headers=auth)
    assert put.status == 200, await put.text()
    body = await put.json()
    assert body["last4"] == "9876"
    assert body["portalId"] == 424242
    got = await client.get("/api/me/hubspot-token", headers=auth)
    text = await got.text()
    assert got.status == 200
    assert GOOD not in text and GOOD not in str(body)
    assert (await client.delete("/api/me/hubspot-token", headers=auth)).status == 204
    assert (await client.get("/api/me/hubspot-token", headers=auth)).status == 404
    assert (await client.delete("/api/me/hubspot-token", headers=auth)).status == 404


async def test_token_is_encrypted_at_rest(
    aiohttp_client: Any, tmp_path: Path, redis_url: str, sandbox: Sandbox
) -> None:
    """The database file holds no trace of the token's text."""
    client, key, _ = await make_client(aiohttp_client, tmp_path, redis_url, sandbox)
    await client.put(
        "/api/me/hubspot-token", json={"token": GOOD}, headers={"Authorization": f"Bearer {key}"}
    )
    files = await asyncio.to_thread(lambda: [p.read_bytes() for p in tmp_path.glob("api.db*")])
    assert files
    assert all(GOOD.encode() not in content for content in files)


async def test_rejected_token_is_422_and_not_stored(
    aiohttp_client: Any, tmp_path: Path, redis_url: str, sandbox: Sandbox
) -> None:
    """A token HubSpot refuses is a 422 naming `token`, does not echo it, and stores nothing."""
    client, key, _ = await make_client(aiohttp_client, tmp_path, redis_url, sandbox)
    auth = {"Authorization": f"Bearer {key}"}
    bad = "pat-na1-not-a-real-token-0000"
    response = await client.put("/api/me/hubspot-token", json={"token": bad}, headers=auth)
    text = await response.text()
    assert response.status == 422
    assert (await response.json())["error"]["details"][0]["field"] == "token"
    assert bad not in text
    assert (await client.get("/api/me/hubspot-token", headers=auth)).status == 404


@pytest.mark.parametrize("payload", [{}, {"token": "short"}, {"token": "has a space in it"}])
async def test_malformed_tokens_name_the_field(
    aiohttp_client: Any, tmp_path: Path, redis_url: str, sandbox: Sandbox, payload: dict[str, Any]
) -> None:
    """Missing, too short or spaced tokens are 422 naming `token`, before HubSpot is asked."""
    client, key, _ = await make_client(aiohttp_client, tmp_path, redis_url, sandbox)
    requests_before = sandbox.stats().requests
    response = await client.put(
        "/api/me/hubspot-token", json=payload, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 422
    assert (await response.json())["error"]["details"][0]["field"] == "token"
    assert sandbox.stats().requests == requests_before


async def test_without_encryption_key_tokens_are_refused(
    aiohttp_client: Any, tmp_path: Path, redis_url: str, sandbox: Sandbox
) -> None:
    """With no TOKEN_ENC_SECRET the server says it cannot store tokens (503), storing nothing."""
    client, key, _ = await make_client(aiohttp_client, tmp_path, redis_url, sandbox, secret=None)
    response = await client.put(
        "/api/me/hubspot-token", json={"token": GOOD}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 503
    assert "TOKEN_ENC_SECRET" in (await response.json())["error"]["message"]
