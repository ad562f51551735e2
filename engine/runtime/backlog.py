"""What bounds a time-scaled run by count: its shard's backlog, and how late the run falls.

:class:`Backlog` counts, in one round trip, the jobs of a shard that are ready (waiting or
running, both ready streams) and those delayed but due before a given moment: the work the shard
has to do before the expansion's look-ahead ends. Jobs delayed beyond it (a record's activities,
planned days of simulated time ahead) are not counted, so a real-time run with long-lived plans is
never held back by them.

:class:`Lateness` keeps how far behind its schedule a simulation's expansion is, in the segments
hash (``late_ms``: at the last pass, 0 when on time; ``late_max_ms``: the most it ever was), and
logs once when a run falls behind and once when it has caught up.
"""

from __future__ import annotations

from typing import Any

import structlog

from core.clock import Clock
from engine.runtime.registry import Known
from streams.keys import QueueKeys

log = structlog.get_logger()

LATE_MS = "late_ms"
LATE_MAX_MS = "late_max_ms"
BEHIND_AFTER_MS = 1_000  # lateness below this is the ordinary delay of one pass, not news


class Backlog:
    def __init__(self, redis: Any, keys: QueueKeys, *, clock: Clock) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock

    async def count(self, scope: str, until_ms: int) -> int:
        """Jobs on ``scope``'s shard that are ready, running, or delayed and due by ``until_ms``."""
        shard = self._keys.shard_of(scope)
        pipe = self._redis.pipeline(transaction=False)
        for stream in self._keys.streams(shard):
            pipe.xlen(stream)
        pipe.zcount(self._keys.delayed(shard), "-inf", until_ms)
        return sum(int(n) for n in await pipe.execute())


class Lateness:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._reported: dict[int, int] = {}  # sim id -> lateness last written

    async def report(self, sim: Known, late_ms: int) -> None:
        """Record that ``sim``'s first record not yet enqueued has been due for ``late_ms``."""
        before = self._reported.get(sim.id)
        if late_ms == 0 and before in (None, 0):
            return  # on time, and already said so: no write per pass
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(sim.keys.segments, LATE_MS, late_ms)
        pipe.hget(sim.keys.segments, LATE_MAX_MS)
        _, most = await pipe.execute()
        if most is None or int(most) < late_ms:
            await self._redis.hset(sim.keys.segments, LATE_MAX_MS, late_ms)
        self._reported[sim.id] = late_ms
        if late_ms >= BEHIND_AFTER_MS > (before or 0):
            log.warning("simulation_behind_schedule", sim_id=sim.id, late_ms=late_ms)
        elif late_ms == 0 and (before or 0) >= BEHIND_AFTER_MS:
            log.info("simulation_back_on_schedule", sim_id=sim.id)
