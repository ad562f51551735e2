"""CRM fixtures: the sandbox fixtures, a limiter on real Redis, transports on the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from core.clock import ManualClock
from engine.crm import HubSpotTransport, PortalClient
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
async def transport_factory(
    manual_clock: ManualClock,
) -> AsyncIterator[Callable[..., Awaitable[HubSpotTransport]]]:
    transports: list[HubSpotTransport] = []

    async def make(url: str, **options: Any) -> HubSpotTransport:
        transport = HubSpotTransport(url, clock=manual_clock, **options)
        await transport.start()
        transports.append(transport)
        return transport

    yield make
    for transport in transports:
        await transport.close()


@pytest.fixture
async def hubspot(
    sandbox: Sandbox,
    limiter: Limiter,
    transport_factory: Callable[..., Awaitable[HubSpotTransport]],
) -> PortalClient:
    """The default sandbox's account, through a limited transport."""
    transport = await transport_factory(sandbox.url, limiter=limiter)
    return PortalClient(transport, PORTAL, TOKEN)
