"""Cheap gauges of the queue, for the API and Prometheus: one pipelined round trip for all shards.

Per shard and ready stream: ``waiting`` (added, not yet delivered), ``pending`` (delivered, not yet
settled) and ``oldest_age_ms`` (age of the oldest entry still in the stream, delivered or not);
per shard: ``delayed`` jobs, ``overdue_ms`` (how far past due the earliest delayed job is: the
mover's lag) and ``dead`` letters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from streams.keys import GROUP, QueueKeys
from streams.settle import STREAM_ORDER

READS_PER_STREAM = 3
READS_PER_SHARD = 2 * READS_PER_STREAM + 3


@dataclass(frozen=True, slots=True)
class StreamStats:
    waiting: int
    pending: int
    oldest_age_ms: int


@dataclass(frozen=True, slots=True)
class ShardStats:
    shard: int
    streams: Mapping[str, StreamStats]
    delayed: int
    overdue_ms: int
    dead: int

    @property
    def depth(self) -> int:
        """Jobs on the shard not yet done: waiting, pending and delayed."""
        return self.delayed + sum(s.waiting + s.pending for s in self.streams.values())


def _entry_ms(entry_id: Any) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-", 1)[0])


def _pending_count(reply: Any) -> int:
    if isinstance(reply, Exception) or not reply:
        return 0
    if isinstance(reply, dict):
        return int(reply.get("pending", 0))
    return int(reply[0])


async def queue_stats(client: Any, keys: QueueKeys, clock: Clock) -> list[ShardStats]:
    """The gauges of every shard."""
    pipe = client.pipeline(transaction=False)
    for shard in range(keys.shards):
        for stream in keys.streams(shard):
            pipe.xlen(stream)
            pipe.xpending(stream, GROUP)
            pipe.xrange(stream, min="-", max="+", count=1)
        pipe.zcard(keys.delayed(shard))
        pipe.zrange(keys.delayed(shard), 0, 0, withscores=True)
        pipe.xlen(keys.dead(shard))
    replies = await pipe.execute(raise_on_error=False)
    now = clock.now_ms()
    result = []
    for shard in range(keys.shards):
        part = replies[shard * READS_PER_SHARD : (shard + 1) * READS_PER_SHARD]
        streams: dict[str, StreamStats] = {}
        for index, priority in enumerate(STREAM_ORDER):
            length, pending_reply, first = part[index * 3 : index * 3 + 3]
            length = 0 if isinstance(length, Exception) else int(length)
            pending = min(_pending_count(pending_reply), length)
            oldest = 0
            if first and not isinstance(first, Exception):
                oldest = max(0, now - _entry_ms(first[0][0]))
            streams[priority.value] = StreamStats(length - pending, pending, oldest)
        delayed, earliest, dead = part[6:9]
        overdue = 0
        if earliest and not isinstance(earliest, Exception):
            overdue = max(0, now - int(earliest[0][1]))
        result.append(
            ShardStats(
                shard,
                streams,
                0 if isinstance(delayed, Exception) else int(delayed),
                overdue,
                0 if isinstance(dead, Exception) else int(dead),
            )
        )
    return result
