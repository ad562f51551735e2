"""Parked children and their release: a job whose parent object does not exist yet waits in the
delayed set, not in the ready streams, until its parent's job ends.

A record's activities are all planned when its contact is recorded, but some depend on another
of its objects:

* a deal is associated with the record's company (ordinal 0);
* the first deal-stage step updates the record's deal (ordinal 0);
* each later lifecycle or deal-stage step follows the previous step of its chain.

A child whose parent was admitted too is enqueued *parked* (:mod:`.planning`): due no earlier
than ``PARENT_FALLBACK_MS`` from now, or its own time if that is later. When the parent's job
ends — its object recorded, a step applied or skipped, or dead-lettered — its children are
*hastened* (:meth:`streams.Queue.hasten`) to their own due time, which for a backfill is now.
This happens before the parent's outcome is settled, so a worker that dies in between leaves
the parent to run again, find itself done, and hasten again (hastening is idempotent and never
adds a job). A child rebuilds the same job from the record's plan (:func:`.jobs.activity_job`),
so its encoding is the member parked in the delayed set.

Correctness never rests on this: a child still checks its parent when it runs (waits while it
is live, goes without it when it will not exist). The fallback only bounds how long a child
waits for a parent that ended without telling it — one dead-lettered by the queue itself, or a
planning pass resumed after a crash, whose children are enqueued as they would have been without
parking.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from engine.model import ActivityType, PlannedActivity
from engine.model.activities import CHAINS
from engine.runtime.jobs import activity_job, index_of
from engine.runtime.registry import Known
from streams import Job, Queue

# How long a parked child waits at most for its parent's job to release it: long enough for the
# usual wait behind a company or the step before, short enough that a child of a parent lost by
# the queue (stalled and dead-lettered) goes ahead on its own soon after. A parent that waits
# longer (a long backfill behind the rate limit) is not harmed: its children come due, find it
# not recorded yet, and wait for it the old way (deferred while its job is live).
PARENT_FALLBACK_MS = 5 * 60_000

Item = tuple[ActivityType, int]  # (kind, ordinal): one activity of a record's plan
# The types of the jobs anything waits for (a company or deal of ordinal 0, any chain step);
# the others are not looked at, which spares rebuilding their records' plans.
PARENT_TYPES = frozenset(kind.value for kind in (ActivityType.COMPANY, ActivityType.DEAL, *CHAINS))


def parent(activity: PlannedActivity) -> Item | None:
    """The activity of the same record that ``activity`` waits for, if any (its contact,
    recorded before any activity is planned, is never waited for)."""
    kind, ordinal = activity.kind, activity.ordinal
    if kind is ActivityType.DEAL:
        return (ActivityType.COMPANY, 0)
    if kind is ActivityType.DEAL_STAGE_UPDATE:
        return (ActivityType.DEAL, 0) if ordinal == 0 else (kind, ordinal - 1)
    if kind is ActivityType.LIFECYCLE_UPDATE and ordinal > 0:
        return (kind, ordinal - 1)
    return None


def waits(activity: PlannedActivity, admitted: Collection[Item]) -> bool:
    """Whether ``activity`` is enqueued parked: its parent was admitted with it, so it will be
    released when that parent's job ends."""
    waits_for = parent(activity)
    return waits_for is not None and waits_for in admitted


async def release(queue: Queue, sim: Known, ended: Iterable[Job]) -> int:
    """Hasten the parked children of ``ended``: activity jobs that have just ended (their object
    recorded, their step applied or skipped, or dead-lettered). Returns how many moved forward."""
    by_record: dict[int, set[Item]] = {}
    for job in ended:
        if job.type in PARENT_TYPES:
            item = (ActivityType(job.type), int(job.data["o"]))
            if item[0] in CHAINS or item[1] == 0:
                by_record.setdefault(index_of(job), set()).add(item)
    children: list[tuple[Job, int]] = []
    for index, parents in by_record.items():
        for activity in sim.model.plan(index).activities:
            if parent(activity) in parents:
                job = activity_job(sim.id, index, activity)
                children.append((job, sim.timing.wall_ms(activity.at_ms)))
    if not children:
        return 0
    return await queue.hasten(str(sim.id), children)
