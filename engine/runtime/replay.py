"""Replaying a simulation's dead letters, with the bookkeeping a replay owes its progress.

The queue moves the dead letters back to work (:meth:`streams.Queue.dead_letters`); here each job
it took out of the dead-letter queue is counted ``<type>:replayed`` in the simulation's live
metrics (so ``dead`` goes down and ``settled`` leaves them out until they settle again, see
:func:`engine.runtime.metrics.presented`), and a completed simulation goes back to running while
they run; the daemons complete it again once they are settled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import structlog

from engine.model import DEFAULT_SEGMENT_MS, SimulationModel
from engine.runtime.jobs import CONTACT, index_of
from engine.runtime.keys import SimKeys
from engine.runtime.metrics import Metric, field
from engine.runtime.segment_counts import increments
from engine.simulations import IllegalAction, Simulations
from schema.simulations import Simulation
from streams import Queue, ReplayResult

log = structlog.get_logger()


async def replay_dead_letters(
    redis: Any,
    queue: Queue,
    simulations: Simulations,
    keys: SimKeys,
    row: Simulation,
    *,
    categories: Iterable[str] | None = None,
    limit: int | None = None,
    dry_run: bool = True,
    full_retry: bool = False,
    model: SimulationModel | None = None,
    segment_ms: int = DEFAULT_SEGMENT_MS,
) -> ReplayResult:
    """Replay (or, with ``dry_run``, only select) the dead letters of simulation ``row``.

    With the simulation's ``model``, replayed contact jobs are taken off their segments'
    ``settled`` counts too (segments of ``segment_ms``).

    The jobs are back in the queue before the simulation reopens, so a daemon that sees it
    running again also sees its live jobs and does not complete it before they ran.
    """
    result = await queue.dead_letters.replay(
        str(row.id),
        categories=categories,
        limit=limit,
        dry_run=dry_run,
        full_retry=full_retry,
    )
    if not result.jobs:
        return result
    by_type = Counter(job.type for job in result.jobs)
    pipe = redis.pipeline(transaction=False)
    for job_type, count in by_type.items():
        pipe.hincrby(keys.metrics, field(job_type, Metric.REPLAYED), count)
    if model is not None:
        contacts = [index_of(job) for job in result.jobs if job.type == CONTACT]
        for name, count in increments(model, segment_ms, settled=contacts, sign=-1).items():
            pipe.hincrby(keys.segments, name, count)
    # A finished simulation's keys carry the retention's expiry (see .retention); the replayed
    # jobs need them for as long as they run, so they lose it. The next sweep after the run
    # ends again sets it anew.
    for key in keys.all():
        pipe.persist(key)
    await pipe.execute()
    try:  # the store's status, not the caller's possibly cached row, decides
        await simulations.reopen(row.id)
    except IllegalAction:  # not completed (running, paused …), or another replay reopened it
        pass
    else:
        log.info("simulation_reopened", sim_id=row.id, replayed=len(result.jobs))
    return result
