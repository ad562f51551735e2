"""Fixtures for runtime tests: a sandbox, a migrated SQLite store, and the test Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from sandbox import Sandbox, SandboxConfig
from schema.store import Store


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(tier=250, daily_limit=0, search_lag_ms=200)) as running:
        yield running


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/runtime.db"


@pytest.fixture
async def runtime_store(database_file: str, redis: Redis) -> AsyncIterator[Store]:
    """A migrated store (the `redis` fixture has emptied the test database first)."""
    async with Store.open(database_file, require_schema=False) as store:
        await store.migrate()
        yield store
