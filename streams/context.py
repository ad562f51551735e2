"""What every part of one queue shares: the Redis client, key names, scripts, options, clock, and
what the loops found of Redis's availability."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.clock import Clock
from core.lua import Scripts
from core.outages import Dependency
from streams.config import QueueConfig
from streams.keys import QueueKeys


@dataclass(frozen=True, slots=True)
class QueueContext:
    """Built once by :class:`~streams.queue.Queue` and handed to its producer, mover, workers
    and dead letters. ``client`` is a ``redis.asyncio.Redis`` or ``RedisCluster``."""

    client: Any
    keys: QueueKeys
    scripts: Scripts  # the queue's own, from streams/lua
    config: QueueConfig
    clock: Clock
    redis_health: Dependency = field(default_factory=lambda: Dependency("redis"))

    def trouble(self, log: Any, event: str, exc: Exception) -> None:
        """Report a loop's failed Redis call: Redis being away goes to :attr:`redis_health`
        (one line per outage), anything else is logged as ``event``."""
        if isinstance(exc, UNREACHABLE):
            self.redis_health.failed(exc)
        else:
            log.error(event, error=str(exc))


# Redis is away (down, frozen past the socket timeout, restarting), not refusing a command.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
