"""CRM fixtures: the sandbox fixtures, a limiter on real Redis, clients on the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from core.clock import ManualClock
from engine.crm import HubSpotClient, PortalClient
from limits import LimitConfig, Limiter
from sandbox import Sandbox
from tests.support.sandboxes import PORTAL, TOKEN


@pytest.fixture
async def limiter(redis: Redis, manual_clock: ManualClock) -> Limiter:
    """HubSpot's Free-tier limits on the test Redis, on the fake clock."""
    limiter = Limiter(redis, LimitConfig.for_tier(100), clock=manual_clock)
    await limiter.load()
    return limiter


@pytest.fixture
async def client_factory(
    manual_clock: ManualClock,
) -> AsyncIterator[Callable[..., Awaitable[HubSpotClient]]]:
    clients: list[HubSpotClient] = []

    async def make(url: str, **options: Any) -> HubSpotClient:
        client = HubSpotClient(url, clock=manual_clock, **options)
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
