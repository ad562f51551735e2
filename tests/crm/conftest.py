"""CRM fixtures: in-process sandboxes on a fake clock, a limiter on real Redis, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from engine.crm import HubSpotClient, PortalClient
from engine.crm.sandbox import Sandbox, SandboxConfig
from limits import LimitConfig, Limiter
from tests.ms_clock import MsClock

PORTAL = "62515000"
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SandboxFactory = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
def ms_clock() -> MsClock:
    return MsClock()


@pytest.fixture
async def sandbox_factory(ms_clock: MsClock) -> AsyncIterator[SandboxFactory]:
    """Start sandboxes with ``SandboxConfig(**fields)`` on the fake clock; all closed after."""
    started: list[Sandbox] = []

    async def start(**fields: Any) -> Sandbox:
        sandbox = Sandbox(SandboxConfig(**fields), clock=ms_clock)
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        await sandbox.close()


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return await sandbox_factory()


@pytest.fixture
async def limiter(redis: Redis, ms_clock: MsClock) -> Limiter:
    """HubSpot's Free-tier limits on the test Redis, on the fake clock."""
    limiter = Limiter(redis, LimitConfig.for_tier(100), clock=ms_clock)
    await limiter.load()
    return limiter


@pytest.fixture
async def client_factory(
    ms_clock: MsClock,
) -> AsyncIterator[Callable[..., Awaitable[HubSpotClient]]]:
    clients: list[HubSpotClient] = []

    async def make(url: str, **options: Any) -> HubSpotClient:
        client = HubSpotClient(url, clock=ms_clock, **options)
        await client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def hubspot(
    sandbox: Sandbox,
    limiter: Limiter,
    client_factory: Callable[..., Awaitable[HubSpotClient]],
) -> PortalClient:
    """The default sandbox's account, through a limited client."""
    client = await client_factory(sandbox.url, limiter=limiter)
    return client.portal(PORTAL, TOKEN)
