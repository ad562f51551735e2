"""The private test servers behave as the tests that use them assume."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from engine.redis_endpoint import connect_redis
from tests.support.servers import RedisClusterServers, RedisServer


async def test_aof_server_keeps_data_across_a_crash(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    """A server with AOF on keeps acknowledged writes through SIGKILL and restart."""
    server = redis_server_factory(appendonly=True)
    client: Redis = Redis.from_url(server.url)
    await client.xadd("s", {"f": "v"})
    await client.aclose()
    server.stop(kill=True)
    server.start()
    client = Redis.from_url(server.url)
    assert await client.xlen("s") == 1
    await client.aclose()


async def test_cluster_is_detected_and_spreads_slots(redis_cluster: RedisClusterServers) -> None:
    """connect_redis returns a cluster client; keys with different hash tags reach all masters."""
    client = await connect_redis(redis_cluster.url)
    assert isinstance(client, RedisCluster)
    for tag in range(30):
        await client.set(f"{{t{tag}}}:k", "1")
    sizes = []
    for node in redis_cluster.nodes:
        node_client: Redis = Redis.from_url(node.url)
        sizes.append(await node_client.dbsize())
        await node_client.aclose()
    assert all(size > 0 for size in sizes)
    assert sum(sizes) == 30
    await client.aclose()


async def test_cluster_of_any_size_starts_and_leaves_nothing_behind() -> None:
    """A private cluster of two masters (fewer than ``redis-cli --cluster create`` accepts)
    reports ``cluster_state:ok`` on every node and takes writes on both; leaving its block stops
    every node and removes its files."""
    with RedisClusterServers(2) as cluster:
        assert all(cluster.cluster_info(node)["cluster_state"] == "ok" for node in cluster.nodes)
        client = await connect_redis(cluster.url)
        assert isinstance(client, RedisCluster)
        for tag in range(20):
            await client.set(f"{{t{tag}}}:k", "1")
        await client.aclose()
        pids = [node.pid for node in cluster.nodes]
        folders = [node.dir for node in cluster.nodes]
        for node in cluster.nodes:
            node_client: Redis = Redis.from_url(node.url)
            assert await node_client.dbsize() > 0
            await node_client.aclose()
    assert _leftovers(pids, folders) == []


def _leftovers(pids: list[int], folders: list[Path]) -> list[str]:
    """The processes still running and the folders still there, among those named."""
    left = [str(folder) for folder in folders if folder.exists()]
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        left.append(f"process {pid}")
    return left
