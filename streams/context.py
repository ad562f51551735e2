"""What every part of one queue shares: the Redis client, key names, scripts, options, clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from core.lua import Scripts
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
