"""What every part of one queue shares: the Redis client, key names, scripts, options, clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.clock import Clock
from streams.config import QueueConfig
from streams.keys import QueueKeys
from streams.scripts import Scripts


@dataclass(frozen=True, slots=True)
class QueueContext:
    """Built once by :class:`~streams.queue.Queue` and handed to its producer, mover, workers
    and dead letters. ``client`` is a ``redis.asyncio.Redis`` or ``RedisCluster``."""

    client: Any
    keys: QueueKeys
    scripts: Scripts
    config: QueueConfig
    clock: Clock
