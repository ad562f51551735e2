"""Private Redis servers for tests: a restartable one (AOF optional) and a 3-master cluster.

They live in :mod:`engine.redis_servers`, shared with the benchmarks; the tests import them from
here.
"""

from __future__ import annotations

from engine.redis_servers import RedisClusterServers, RedisServer, free_port

__all__ = ["RedisClusterServers", "RedisServer", "free_port"]
