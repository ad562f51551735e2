"""Secondary planning: once a record's contact exists, queue its activities — exactly once.

For each record, in one atomic script on the simulation's keys (``lua/plan-4.lua``): the planned bit
is set, budgets are spent (``HINCRBY``, never below zero), the admitted mask is parked in the
pending-plans hash, and the scheduled and thinned counts are added to the live metrics. Then the
admitted activities are enqueued as delayed jobs (idempotent: deterministic ids), and only then is
the pending entry deleted. A record planned by a worker that died before enqueueing gets the same
mask back when its contact job runs again, so budgets are never spent twice and no activity is
lost. Optional engagements are thinned first, under backlog pressure (:mod:`.pressure`), and each
planning pass that thinned something leaves a thinning event.

A newly planned activity whose parent object was admitted with it (a deal's company, a deal-stage
step's deal, a chain's previous step) is enqueued *parked*, released by its parent's job
(:mod:`.release`). Parked jobs are enqueued before the others, so a parent is never in the queue
before its children and its release always finds them. A resumed record's jobs are enqueued as
they would be without parking: some of their parents may have ended already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any

import structlog

from core.clock import Clock
from core.lua import KeyOrArg, Scripts
from engine.model import ActivityType, PlannedActivity, object_key
from engine.runtime import thinning
from engine.runtime.context import as_text, mark_absent
from engine.runtime.jobs import activity_job
from engine.runtime.pressure import THINNABLE, Pressure, keeps
from engine.runtime.registry import Known
from engine.runtime.release import PARENT_FALLBACK_MS, waits
from streams import Job, Queue

log = structlog.get_logger()

ADMITTED, THINNED = "1", "t"  # mask characters of plan-4.lua ("0": over budget)


class PlanStatus(IntEnum):
    """What ``plan-4.lua`` says about a record."""

    NEW = 0  # planned now
    RESUMED = 1  # planned before; its jobs may not all be enqueued yet
    DONE = 2  # planned and enqueued before


class Planner:
    def __init__(
        self,
        redis: Any,
        scripts: Scripts,
        queue: Queue,
        *,
        pressure: Callable[[Known], Pressure],
        clock: Clock,
        thinning_events_max: int,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._queue = queue
        self._pressure = pressure
        self._clock = clock
        self._events_max = thinning_events_max

    async def plan(self, sim: Known, indices: Sequence[int]) -> int:
        """Plan and enqueue the activities of records ``indices`` (their contacts exist).

        Returns the number of activity jobs enqueued.
        """
        if not indices:
            return 0
        pressure = self._pressure(sim)
        keys = sim.keys
        plans = [sim.model.plan(index).activities for index in indices]
        calls: list[tuple[str, list[str], list[KeyOrArg]]] = [
            (
                "plan",
                [keys.planned, keys.budget, keys.plans, keys.metrics],
                [index, *_candidates(sim.id, index, activities, pressure.factor)],
            )
            for index, activities in zip(indices, plans, strict=True)
        ]
        replies = await self._scripts.run_many(calls)
        jobs: list[tuple[Job, int]] = []
        waiting: list[tuple[Job, int]] = []  # parked: released by their parent's job
        fallback_ms = self._clock.now_ms() + PARENT_FALLBACK_MS
        finished: list[int] = []
        absent: list[str] = []
        thinned = before = 0
        for index, activities, reply in zip(indices, plans, replies, strict=True):
            status, mask = PlanStatus(int(reply[0])), as_text(reply[1])
            if status is PlanStatus.DONE:
                continue
            finished.append(index)
            admitted = [a for a, flag in zip(activities, mask, strict=True) if flag == ADMITTED]
            park = fallback_ms if status is PlanStatus.NEW else None
            _schedule(sim, index, admitted, park, ready=jobs, parked=waiting)
            if not any(a.kind is ActivityType.COMPANY and a.ordinal == 0 for a in admitted):
                absent.append(object_key(sim.id, ActivityType.COMPANY.value, index, 0))
            if status is PlanStatus.NEW:
                thinned += mask.count(THINNED)
                before += len(mask)
        if waiting:
            await self._queue.enqueue_many(waiting)
        if jobs:
            await self._queue.enqueue_many(jobs)
        pipe = self._redis.pipeline(transaction=False)
        # A deal waits for its record's company; say now when there will be none.
        mark_absent(pipe, keys.ids, absent)
        if finished:
            pipe.hdel(keys.plans, *finished)
        if thinned:
            self._record_thinning(pipe, sim, pressure, before, thinned)
        if len(pipe):
            await pipe.execute()
        return len(jobs) + len(waiting)

    def _record_thinning(
        self, pipe: Any, sim: Known, pressure: Pressure, before: int, thinned: int
    ) -> None:
        event = thinning.ThinningEvent(
            at=self._clock.now_ms(),
            before=before,
            after=before - thinned,
            factor=pressure.factor,
            total_waiting=pressure.backlog,
            reason=pressure.reason,
        )
        thinning.record(pipe, sim.keys, event, self._events_max)
        log.info("activities_thinned", thinned=thinned, factor=pressure.factor)


def _schedule(
    sim: Known,
    index: int,
    admitted: Sequence[PlannedActivity],
    fallback_ms: int | None,
    *,
    ready: list[tuple[Job, int]],
    parked: list[tuple[Job, int]],
) -> None:
    """Add record ``index``'s admitted activities as jobs due at their own time to ``ready``,
    or — given the parking fallback's epoch ms — those that wait for a parent to ``parked``,
    due no earlier than the fallback."""
    items = {(activity.kind, activity.ordinal) for activity in admitted}
    for activity in admitted:
        due = sim.timing.wall_ms(activity.at_ms)
        job = activity_job(sim.id, index, activity)
        if fallback_ms is not None and waits(activity, items):
            parked.append((job, max(due, fallback_ms)))
        else:
            ready.append((job, due))


def _candidates(
    sim_id: int, index: int, activities: Sequence[PlannedActivity], factor: float
) -> list[str]:
    """The plan script's arguments: each activity's type, prefixed ``~`` when thinned."""
    arguments = []
    for activity in activities:
        kind = activity.kind.value
        job_id = object_key(sim_id, kind, index, activity.ordinal)
        thinned = activity.kind in THINNABLE and not keeps(job_id, factor)
        arguments.append(f"~{kind}" if thinned else kind)
    return arguments
