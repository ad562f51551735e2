"""A running simulation's bookkeeping: budgets on first sight, completion, durable counters.

Completion (SPEC §3): a running simulation is *completed* once every segment is expanded, no
record's plan is still waiting to be enqueued, and none of its jobs is live in the queue — every
one was done (created, updated, skipped) or dead-lettered. The queue counts live jobs per scope
exactly, in the same scripts that add and settle them, so a job run twice after a crash cannot
make a simulation look finished early. The status moves through the simulations service, whose
store lets only one daemon's transition win.

Counters: the live metrics hash is flushed into ``simulation_counters`` with "raise to" semantics,
so repeated or concurrent flushes never double-count and a counter never goes down.
"""

from __future__ import annotations

from typing import Any

import structlog

from engine.model import ActivityType
from engine.runtime import metrics
from engine.runtime.context import as_text
from engine.runtime.expander import Expander
from engine.runtime.registry import Known
from engine.simulations import IllegalAction, Simulations
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue

log = structlog.get_logger()


class Lifecycle:
    def __init__(
        self,
        redis: Any,
        store: Store,
        simulations: Simulations,
        queue: Queue,
        expander: Expander,
    ) -> None:
        self._redis = redis
        self._store = store
        self._simulations = simulations
        self._queue = queue
        self._expander = expander
        self._prepared: set[int] = set()
        self._flushed: dict[int, dict[tuple[str, str], int]] = {}

    async def prepare(self, sim: Known) -> None:
        """Claim the simulation's keys for its row, then set its budgets once (HSETNX: never
        resets spent budgets).

        Keys of a simulation with the same id from another database (one recreated from scratch
        against the same Redis) carry another incarnation: they are dropped first, or the new
        simulation would inherit its planned records and created ids.
        """
        if sim.id in self._prepared:
            return
        incarnation = str(int(sim.row.created_at.timestamp() * 1000))
        claimed = await self._redis.set(sim.keys.incarnation, incarnation, nx=True)
        if not claimed and as_text(await self._redis.get(sim.keys.incarnation)) != incarnation:
            stale = [key for key in sim.keys.all() if key != sim.keys.incarnation]
            await self._redis.delete(*stale)
            await self._redis.set(sim.keys.incarnation, incarnation)
            log.warning("stale_simulation_keys_dropped", sim_id=sim.id)
        budgets = {
            kind.value: rule.budget
            for kind in ActivityType
            if (rule := sim.spec.scenario.rule(kind)) is not None and rule.budget is not None
        }
        if budgets:
            pipe = self._redis.pipeline(transaction=False)
            for kind, budget in budgets.items():
                pipe.hsetnx(sim.keys.budget, kind, budget)
            await pipe.execute()
        self._prepared.add(sim.id)

    async def check_completed(self, sim: Known) -> bool:
        """Move the simulation to completed when all its work is settled; True if it moved."""
        if sim.status is not SimulationStatus.RUNNING:
            return False
        if await self._expander.next_segment(sim) < self._expander.segment_count(sim):
            return False
        if await self._redis.hlen(sim.keys.plans):
            return False
        if await self._queue.live_count(str(sim.id)):
            return False
        try:
            sim.row = await self._simulations.complete(sim.id)
        except IllegalAction:
            return False
        log.info("simulation_completed", sim_id=sim.id)
        return True

    async def flush(self, sim: Known) -> None:
        """Raise the durable counters to the live ones (no write when this process flushed the
        same values last time)."""
        counts = await metrics.read(self._redis, sim.keys)
        values = {
            (kind, metric): value
            for kind, by_metric in counts.items()
            for metric, value in by_metric.items()
        }
        if self._flushed.get(sim.id) == values:
            return
        await self._store.counters.raise_to(sim.id, values)
        self._flushed[sim.id] = values
