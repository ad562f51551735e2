"""Fixtures for the core tests: the test Redis, standalone and as the private Redis Cluster."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from tests.support.servers import RedisClusterServers


@pytest.fixture
def tag() -> str:
    """A hash tag of this test's own: every key it writes carries it (one slot on a Cluster)."""
    return f"{{core-{uuid.uuid4().hex[:8]}}}"


@pytest.fixture(params=["standalone", "cluster"])
async def lua_redis(
    request: pytest.FixtureRequest, redis: Redis, tag: str
) -> AsyncIterator[Redis | RedisCluster]:
    """The flushed test database, then the session's 3-master cluster (this test's keys are
    deleted afterwards)."""
    if request.param == "standalone":
        yield redis
        return
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
    client = RedisCluster.from_url(cluster.url)
    await client.initialize()
    yield client
    async for key in client.scan_iter(match=f"{tag}*"):
        await client.delete(key)
    await client.aclose()
