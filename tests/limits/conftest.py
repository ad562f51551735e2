"""Limiter fixtures: a fake clock and limiters on standalone Redis and on the 3-master cluster.

Every test works on a portal id of its own (a uuid), so the cluster needs no flushing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from core.clock import ManualClock
from engine.redis_endpoint import connect_redis
from limits import LimitConfig, Limiter, PortalKeys
from tests.support.servers import RedisClusterServers

LimiterFactory = Callable[..., Awaitable[Limiter]]


@pytest.fixture
def portal() -> str:
    return str(uuid.uuid4().int % 10**12)


@pytest.fixture(params=["standalone", "cluster"])
async def limits_redis(
    request: pytest.FixtureRequest, redis: Redis, portal: str
) -> AsyncIterator[Redis | RedisCluster]:
    """The test Redis (standalone), then the private Redis 6.2 cluster, which is shared by the
    session: the test's account keys are deleted afterwards."""
    if request.param == "standalone":
        yield redis
        return
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
    client = await connect_redis(cluster.url)
    yield client
    for key in PortalKeys(portal).all():
        await client.delete(key)
    await client.aclose()


@pytest.fixture
def make_limiter(limits_redis: Redis | RedisCluster, manual_clock: ManualClock) -> LimiterFactory:
    """Build a loaded limiter with ``LimitConfig(**fields)`` on the fake clock."""

    async def make(**fields: Any) -> Limiter:
        limiter = Limiter(limits_redis, LimitConfig(**fields), clock=manual_clock)
        await limiter.load()
        return limiter

    return make
