"""Segment expansion: turning the near future of each running simulation into queued jobs.

A simulation's window is cut into segments (SIMCRM_SEGMENT_MINUTES of simulated time). Each pass,
for every running simulation, the daemon holding its short expansion lease enqueues the contact
jobs of every segment whose wall-clock start falls within the look-ahead (SIMCRM_LOOKAHEAD_SEGMENTS
segments ahead), due at each record's own wall-clock moment. Expansion is driven by the clock, not
by the previous segment finishing, so a slow segment never holds back the next one, and Redis only
ever holds the near future: a 10,000,000-record simulation starts with its first segment.

A backfill has every record due now, so it is paced by its backlog instead: contacts are enqueued
while fewer than SIMCRM_BACKFILL_WINDOW of its jobs are live in the queue (the activities planned
from them come on top, so the queue may briefly hold a few times that).

A time-scaled run is bounded by count as well as by time: expansion adds contacts only while its
shard holds fewer than SIMCRM_BACKLOG_MAX jobs that are ready, running, or delayed but due before
the look-ahead ends (:class:`Backlog`). When the CRM cannot keep up — a high time scale, a slow
account — expansion waits instead of piling due jobs into Redis, and the simulation falls behind
its schedule: how far (``late_ms``, and the most it ever was, ``late_max_ms``) is kept in the
segments hash for the API and logged when it starts and ends.

Progress is kept per segment in ``{s<id>}:segments`` (``lua/expand-2.lua``), so a pass repeated by
another daemon, or after a crash, counts nothing twice; the same hash holds how many of each
segment's records were created and have settled (:mod:`.segment_counts`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from core.clock import Clock
from core.lua import Scripts
from engine.model import DEFAULT_SEGMENT_MS, Segment, SimulationModel
from engine.runtime.backlog import Backlog, Lateness
from engine.runtime.context import as_text
from engine.runtime.jobs import contact_job
from engine.runtime.keys import SimKeys
from engine.runtime.registry import Known
from engine.runtime.segment_counts import CREATED, SETTLED, count_field
from schema.simulations import SimulationStatus
from streams import Job, Queue

log = structlog.get_logger()

LEASE_MS = 5_000  # a pass takes well under it; a dead daemon's lease lapses quickly
MAX_ENQUEUE = 20_000  # records one pass enqueues at most: a huge segment takes several passes,
# each well within the lease, and the control loop's other work runs in between


@dataclass(frozen=True, slots=True)
class ExpansionConfig:
    """How time is cut into segments and how far ahead they are turned into jobs.

    - ``segment_ms``: the length of a segment of simulated time (SIMCRM_SEGMENT_MINUTES);
    - ``lookahead_segments``: how many segments ahead of the wall clock are expanded
      (SIMCRM_LOOKAHEAD_SEGMENTS);
    - ``backfill_window``: most jobs of a backfill queued at once (SIMCRM_BACKFILL_WINDOW);
    - ``backlog_max``: most jobs a shard may hold ready, running or due within the look-ahead
      before the expansion of a time-scaled run waits (SIMCRM_BACKLOG_MAX).
    """

    segment_ms: int = DEFAULT_SEGMENT_MS
    lookahead_segments: int = 1
    backfill_window: int = 20_000
    backlog_max: int = 20_000


@dataclass(frozen=True, slots=True)
class SegmentState:
    """How far a segment's expansion got."""

    segment: Segment
    upto: int  # records [first, upto) are enqueued
    expanded_at_ms: int | None
    created: int = 0  # contacts of its records that exist
    settled: int = 0  # contact jobs of its records finished in any way (replays taken off)

    @property
    def done(self) -> bool:
        return self.upto >= self.segment.stop


class Expander:
    def __init__(
        self,
        redis: Any,
        scripts: Scripts,
        queue: Queue,
        config: ExpansionConfig,
        *,
        clock: Clock,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._queue = queue
        self.config = config
        self._clock = clock
        self._owner = secrets.token_hex(8)
        self._backlog = Backlog(redis, queue.keys, clock=clock)
        self._lateness = Lateness(redis)

    def segment_count(self, sim: Known) -> int:
        return sim.model.schedule.segment_count(self.config.segment_ms)

    async def next_segment(self, sim: Known) -> int:
        raw = await self._redis.hget(sim.keys.segments, "next")
        return int(raw) if raw is not None else 0

    async def expand(self, sim: Known) -> int:
        """One pass over ``sim``; returns the number of records enqueued."""
        if sim.status is not SimulationStatus.RUNNING:
            return 0
        lease = await self._redis.set(sim.keys.expand_lock, self._owner, nx=True, px=LEASE_MS)
        if not lease:
            return 0
        try:
            return await self._expand_due(sim)
        finally:
            await self._release(sim)

    async def _expand_due(self, sim: Known) -> int:
        total = self.segment_count(sim)
        number = await self.next_segment(sim)
        budget = min(await self._budget(sim), MAX_ENQUEUE)
        horizon = self._horizon(sim)
        enqueued = 0
        upto: int | None = None
        while number < total:
            segment = sim.model.segment(number, self.config.segment_ms)
            if not sim.spec.backfill and sim.timing.wall_ms(segment.start_ms) > horizon:
                upto = None  # on schedule: the next segment is not due yet
                break
            raw = await self._redis.hget(sim.keys.segments, f"{number}:upto")
            upto = int(raw) if raw is not None else segment.first
            if budget <= 0:
                break
            stop = min(segment.stop, upto + budget)
            await self._enqueue(sim, upto, stop)
            added = await self._scripts.run(
                "expand",
                [sim.keys.segments, sim.keys.metrics],
                [number, segment.first, stop, segment.stop, self._clock.now_ms()],
            )
            enqueued += stop - upto
            budget -= stop - upto
            upto = stop
            if stop < segment.stop:
                break  # the pass's share is used up; the next pass goes on from here
            if int(added) or segment.count == 0:
                log.info("segment_expanded", sim_id=sim.id, segment=number, records=segment.count)
            number += 1
            upto = None
        if not sim.spec.backfill:
            await self._lateness.report(sim, self._late_ms(sim, number, upto, total))
        return enqueued

    def _late_ms(self, sim: Known, number: int, upto: int | None, total: int) -> int:
        """How long the first record not yet enqueued has been due (0: none is due yet)."""
        if upto is None or number >= total:
            return 0
        segment = sim.model.segment(number, self.config.segment_ms)
        if upto >= segment.stop:
            return 0
        due_ms = sim.timing.wall_ms(sim.model.time_of(upto))
        return max(0, self._clock.now_ms() - due_ms)

    async def _enqueue(self, sim: Known, first: int, stop: int) -> None:
        if stop <= first:
            return
        wall = sim.timing.wall_ms
        times = sim.model.schedule.times(first, stop)
        jobs: list[tuple[Job, int]] = [
            (contact_job(sim.id, index), wall(at))
            for index, at in zip(range(first, stop), times, strict=True)
        ]
        await self._queue.enqueue_many(jobs)

    async def _budget(self, sim: Known) -> int:
        """How many records this pass may enqueue: a backfill's live jobs bound it, a time-scaled
        run's shard backlog up to the end of the look-ahead."""
        if not sim.spec.backfill:
            # Records of the last segment expanded may lie one segment past the horizon.
            until = self._horizon(sim) + self._segment_wall_ms(sim)
            backlog = await self._backlog.count(str(sim.id), until)
            return max(0, self.config.backlog_max - backlog)
        outstanding = await self._queue.live_count(str(sim.id))
        return max(0, self.config.backfill_window - outstanding)

    def _segment_wall_ms(self, sim: Known) -> int:
        return int(self.config.segment_ms / sim.spec.time_scale)

    def _horizon(self, sim: Known) -> int:
        """The wall-clock moment up to which segments start soon enough to be expanded now."""
        return self._clock.now_ms() + self.config.lookahead_segments * self._segment_wall_ms(sim)

    async def _release(self, sim: Known) -> None:
        await self._scripts.run("unlock", [sim.keys.expand_lock], [self._owner])

    async def states(self, sim: Known) -> list[SegmentState]:
        """Every segment of ``sim`` with its expansion state."""
        return await segment_states(self._redis, sim.keys, sim.model, self.config.segment_ms)


def segment_fields(raw: Mapping[Any, Any]) -> dict[str, int]:
    """The segments hash as HGETALL returns it, as text fields and numbers."""
    return {as_text(key): int(value) for key, value in raw.items()}


def states_of(segments: Iterable[Segment], fields: Mapping[str, int]) -> list[SegmentState]:
    """Each segment with how far its expansion got, from the segments hash's fields."""
    return [
        SegmentState(
            segment,
            fields.get(f"{segment.number}:upto", segment.first),
            fields.get(f"{segment.number}:at"),
            max(0, fields.get(count_field(segment.number, CREATED), 0)),
            max(0, fields.get(count_field(segment.number, SETTLED), 0)),
        )
        for segment in segments
    ]


async def segment_states(
    redis: Any, keys: SimKeys, model: SimulationModel, segment_ms: int
) -> list[SegmentState]:
    """Every segment of a simulation with how far its expansion got."""
    fields = segment_fields(await redis.hgetall(keys.segments))
    return states_of(model.schedule.segments(segment_ms), fields)
