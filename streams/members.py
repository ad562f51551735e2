"""Which processes use the queue: each registers, renews its registration, and leaves.

A reshard must not move work under a running daemon (it would keep reading the old shards) nor
under an API (it would enqueue replays and read dead letters on them), so every such process is
listed in :attr:`QueueKeys.members`, a sorted set scored by when its registration lapses. Times
are Redis's own (``TIME``), so the clocks of the machines involved do not matter. A process that
dies without leaving lapses after ``ttl_ms``.

A process registers *before* it checks that no reshard is underway, and a reshard announces
itself *before* it looks for members, so of a process starting and a reshard starting at once,
at least one sees the other and stops.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import Any

import structlog

from streams.keys import QueueKeys

log = structlog.get_logger()

DEFAULT_MEMBER_TTL_MS = 15_000


async def redis_now_ms(client: Any) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def member_name(kind: str) -> str:
    """``<kind>:<host>:<pid>:<random>``: says which process it is, unique per start."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Membership:
    """One process's registration (``kind`` is ``daemon``, ``api`` …)."""

    def __init__(
        self, client: Any, keys: QueueKeys, kind: str, ttl_ms: int = DEFAULT_MEMBER_TTL_MS
    ) -> None:
        self._client = client
        self._keys = keys
        self.name = member_name(kind)
        self.ttl_ms = ttl_ms

    async def renew(self) -> None:
        """Register, or extend the registration by ``ttl_ms`` (call every third of it)."""
        expires = await redis_now_ms(self._client) + self.ttl_ms
        await self._client.zadd(self._keys.members, {self.name: expires})

    async def leave(self) -> None:
        await self._client.zrem(self._keys.members, self.name)

    async def keep(self) -> None:
        """Renew every third of ``ttl_ms`` until cancelled (real time: registrations lapse by
        Redis's clock, whatever clock the process runs on). A failed renewal is logged at debug
        level (the process's outage logging reports Redis being away) and the next one makes up
        for it."""
        while True:
            await asyncio.sleep(self.ttl_ms / 3_000)
            try:
                await self.renew()
            except Exception as exc:
                log.debug("queue_membership_not_renewed", error=type(exc).__name__)


async def live_members(client: Any, keys: QueueKeys) -> list[tuple[str, int]]:
    """The registered processes and how many ms each registration has left; lapsed ones are
    dropped."""
    now = await redis_now_ms(client)
    await client.zremrangebyscore(keys.members, "-inf", now)
    found = await client.zrange(keys.members, 0, -1, withscores=True)
    return [
        (name.decode() if isinstance(name, bytes) else str(name), int(score) - now)
        for name, score in found
    ]
