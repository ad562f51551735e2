"""A plain HTTP client for the sandbox's tests, so nothing of ours interprets its answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox
from tests.support.sandboxes import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    sandbox: Sandbox,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
) -> tuple[int, Any, Any]:
    """One request (as ``token`` when given): status, JSON (or text) body, headers."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with http.request(method, sandbox.url + path, json=body, headers=headers) as response:
        if response.status == 204:
            data = None
        elif response.content_type == "application/json":
            data = await response.json()
        else:
            data = await response.text()
        return response.status, data, response.headers
