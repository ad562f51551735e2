"""Simulation models and plan summaries for the API, built off the event loop and remembered.

Building a :class:`SimulationModel` and summarising its plan is pure CPU work (milliseconds for a
small simulation, a few seconds for a 100,000-record exact plan), so it runs in a worker thread and
its result is kept per simulation (a definition never changes once created). Concurrent requests
for the same simulation share one computation.

The arrival curve counts arrivals in at most ``MAX_POINTS`` buckets of whole hours; each bucket also
carries the index of its first record, so a client can lay the created count over the curve in
record order.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.model import PlanSummary, SimulationModel, SimulationSpec, summarize
from schema.simulations import Simulation

MAX_POINTS = 240
PLAN_SAMPLE = 5_000  # records planned to estimate activities (all of them up to this many)
CACHE_SIZE = 128
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CurveBucket:
    start_ms: int
    end_ms: int
    first: int  # index of the bucket's first record
    planned: int  # records arriving in the bucket


def arrival_curve(model: SimulationModel, max_points: int = MAX_POINTS) -> list[CurveBucket]:
    """Arrivals over the window in at most ``max_points`` buckets of whole local hours.

    Exact and cheap for any N: each bucket's count is the size of its index range, found with
    one O(log N) look-up per bucket bound.
    """
    bounds = model.grid.bounds
    hours = len(bounds) - 1
    group = max(1, -(-hours // max_points))
    edges = [*bounds[0:hours:group], bounds[-1]]
    firsts = [model.schedule.first_at_or_after(edge) for edge in edges]
    firsts[0], firsts[-1] = 0, model.spec.total_records
    return [
        CurveBucket(edges[k], edges[k + 1], firsts[k], firsts[k + 1] - firsts[k])
        for k in range(len(edges) - 1)
    ]


@dataclass(frozen=True, slots=True)
class PlanView:
    """What the API shows of one simulation's plan."""

    summary: PlanSummary
    curve: list[CurveBucket]

    def planned(self) -> dict[str, int]:
        """Objects planned per job type: every record's contact, then each activity type."""
        totals = {"contact": self.summary.model.spec.total_records}
        for item in self.summary.activities:
            totals[item.kind.value] = item.planned
        return totals


def plan_view(model: SimulationModel) -> PlanView:
    """The plan with activities exact up to ``PLAN_SAMPLE`` records, estimated above."""
    return PlanView(summarize(model, sample=PLAN_SAMPLE), arrival_curve(model))


class Models:
    """A bounded cache of models and plan views by simulation id (LRU)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, int], asyncio.Future[Any]] = OrderedDict()

    async def model(self, row: Simulation) -> SimulationModel:
        return await self._get(
            ("model", row.id), lambda: SimulationModel(SimulationSpec.from_row(row))
        )

    async def plan(self, row: Simulation) -> PlanView:
        model = await self.model(row)
        return await self._get(("plan", row.id), lambda: plan_view(model))

    def cached_model(self, sim_id: int) -> SimulationModel | None:
        """The model if it is built already (never builds: for hot paths)."""
        entry = self._entries.get(("model", sim_id))
        if entry is None or not entry.done() or entry.exception() is not None:
            return None
        result: SimulationModel = entry.result()
        return result

    async def _get(self, key: tuple[str, int], build: Callable[[], T]) -> T:
        entry = self._entries.get(key)
        if entry is None:
            entry = asyncio.ensure_future(asyncio.to_thread(build))
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        try:
            result: T = await asyncio.shield(entry)
        except Exception:
            self._entries.pop(key, None)
            raise
        return result
