"""Sandbox fixtures for every test package: in-process twins on a fake clock, closed after each
test (registered by the root conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from core.clock import ManualClock
from sandbox import Sandbox, SandboxConfig

PORTAL = "62515000"
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SandboxFactory = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock at 2026-01-05 09:00 UTC that moves only when the test steps it."""
    return ManualClock()


@pytest.fixture
async def sandbox_factory(manual_clock: ManualClock) -> AsyncIterator[SandboxFactory]:
    """Start sandboxes with ``SandboxConfig(**fields)`` on the fake clock; all closed after."""
    started: list[Sandbox] = []

    async def start(**fields: Any) -> Sandbox:
        sandbox = Sandbox(SandboxConfig(**fields), clock=manual_clock.now_ms)
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        await sandbox.close()


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return await sandbox_factory()
