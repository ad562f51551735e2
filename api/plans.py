"""Simulation models and plan summaries for the API, built off the event loop and remembered.

Building a :class:`SimulationModel` and summarising its plan is pure CPU work (milliseconds for a
small simulation, a few seconds for a 100,000-record exact plan), so it runs in a worker thread and
its result is kept per simulation (a definition never changes once created). Concurrent requests
for the same simulation share one computation.

The arrival curve is the plan's hourly arrival counts merged into at most ``MAX_POINTS`` buckets;
each bucket also carries the index of its first record, so a client can lay the created count over
the curve in record order.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.model import PlanSummary, SimulationModel, SimulationSpec, summarize
from engine.model.plan import arrivals
from schema.simulations import Simulation

MAX_POINTS = 240
CACHE_SIZE = 128
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CurveBucket:
    start_ms: int
    end_ms: int
    first: int  # index of the bucket's first record
    planned: int  # records arriving in the bucket


def arrival_curve(model: SimulationModel, max_points: int = MAX_POINTS) -> list[CurveBucket]:
    """The model's hourly arrivals merged into at most ``max_points`` equal-width groups."""
    counts = arrivals(model).per_bucket
    bounds = model.grid.bounds
    group = max(1, -(-len(counts) // max_points))
    curve: list[CurveBucket] = []
    first = 0
    for begin in range(0, len(counts), group):
        end = min(begin + group, len(counts))
        planned = sum(counts[begin:end])
        curve.append(CurveBucket(bounds[begin], bounds[end], first, planned))
        first += planned
    return curve


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
    return PlanView(summarize(model), arrival_curve(model))


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
