"""The delayed mover: promotes due jobs from each shard's delayed set to its ready streams.

Every worker runs one for its shards. A pass calls the ``promote`` script per shard (pipelined),
repeating for a shard while it moves full batches, then sleeps until the earliest remaining due
time, but never longer than ``mover_interval_ms`` (jobs enqueued by other processes are seen within
that) and never less than a millisecond. :meth:`DelayedMover.nudge` wakes it early. The script is
atomic, so any number of movers on the same shards never move a job twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from redis.exceptions import RedisError

from core.lua import KeyOrArg
from streams.context import QueueContext
from streams.tasks import first_of, raise_if_cancelling

log = structlog.get_logger("streams.mover")

ERROR_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class PromoteResult:
    """What one pass did: jobs moved, and the earliest due time left (None when empty)."""

    moved: int
    next_due_ms: int | None


class DelayedMover:
    """Moves due delayed jobs to their ready streams, in the background or on demand."""

    def __init__(self, ctx: QueueContext) -> None:
        self._ctx = ctx
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        """Run the next pass now (e.g. after enqueuing a job due soon)."""
        self._wake.set()

    async def promote(self, shards: Sequence[int]) -> PromoteResult:
        """Move every due job of ``shards``, in batches of ``mover_batch`` per script call."""
        now = self._ctx.clock.now_ms()
        todo = list(shards)
        moved = 0
        next_due: int | None = None
        while todo:
            calls = [self._call(shard, now) for shard in todo]
            results = await self._ctx.scripts.run_many(calls)
            again = []
            for shard, (count, due) in zip(todo, results, strict=True):
                moved += int(count)
                if int(count) >= self._ctx.config.mover_batch:
                    again.append(shard)
                elif int(due) >= 0:
                    next_due = int(due) if next_due is None else min(next_due, int(due))
            todo = again
        return PromoteResult(moved, next_due)

    def _call(self, shard: int, now: int) -> tuple[str, list[str], list[KeyOrArg]]:
        primary, secondary = self._ctx.keys.streams(shard)
        keys = [self._ctx.keys.delayed(shard), primary, secondary]
        return "promote", keys, [now, self._ctx.config.mover_batch]

    async def run(self, shards: Sequence[int], stopping: asyncio.Event) -> None:
        """Promote until ``stopping`` is set."""
        while not stopping.is_set():
            self._wake.clear()
            try:
                result = await self.promote(shards)
            except (RedisError, OSError) as exc:
                raise_if_cancelling()
                self._ctx.trouble(log, "delayed_promote_failed", exc)
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            self._ctx.redis_health.succeeded()
            wait_ms = self._ctx.config.mover_interval_ms
            if result.next_due_ms is not None:
                wait_ms = min(wait_ms, max(1, result.next_due_ms - self._ctx.clock.now_ms()))
            await first_of(self._wake, stopping, timeout_s=wait_ms / 1000)
