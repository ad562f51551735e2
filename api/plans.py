"""Simulation models, plan summaries and previews for the API, built off the event loop.

Building a :class:`SimulationModel` and summarising its plan is pure CPU work (milliseconds for a
small simulation, over a second for a 10M-record plan). A model (a fraction of a second, needed by
the live metrics) is built on a worker thread; a plan or a preview runs in a model worker process
(:mod:`api.compute`), so that many of them at once cannot stall the event loop. Models and plans
are kept per simulation (a definition never changes once created); concurrent requests for the
same simulation share one computation.

The arrival curve counts arrivals in at most ``MAX_POINTS`` buckets of whole hours; each bucket also
carries the index of its first record, so a client can lay the created count over the curve in
record order.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from api.compute import ModelWorkers
from engine.model import PlanSummary, SimulationInput, SimulationModel, SimulationSpec, summarize
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


def plan_of(row: Simulation) -> PlanView:
    """A stored simulation's plan (run in a model worker process)."""
    return plan_view(SimulationModel(SimulationSpec.from_row(row)))


@dataclass(frozen=True, slots=True)
class Preview:
    records: int
    first_ms: int
    last_ms: int
    curve: list[CurveBucket]


def preview_of(body: SimulationInput) -> Preview:
    """A definition's arrival curve, nothing stored (run in a model worker process).

    Raises:
        DefinitionError: a whole-definition problem, naming the field.
    """
    model = SimulationModel(body.to_spec(0))
    last = model.spec.total_records - 1
    return Preview(last + 1, model.time_of(0), model.time_of(last), arrival_curve(model))


class Models:
    """A bounded cache of models and plan views by simulation id (LRU), and previews."""

    def __init__(self, workers: ModelWorkers, size: int = CACHE_SIZE) -> None:
        self.workers = workers
        self._size = size
        self._entries: OrderedDict[tuple[str, int], asyncio.Future[Any]] = OrderedDict()

    async def model(self, row: Simulation) -> SimulationModel:
        return await self._get(
            ("model", row.id),
            lambda: asyncio.to_thread(SimulationModel, SimulationSpec.from_row(row)),
        )

    async def plan(self, row: Simulation) -> PlanView:
        """Raises :class:`~api.compute.Busy` when the model workers are full."""
        return await self._get(("plan", row.id), lambda: self.workers.run(plan_of, row))

    async def preview(self, body: SimulationInput) -> Preview:
        """Raises :class:`~api.compute.Busy` when the model workers are full, and
        DefinitionError for a definition that does not hold together."""
        return await self.workers.run(preview_of, body)

    def cached_model(self, sim_id: int) -> SimulationModel | None:
        """The model if it is built already (never builds: for hot paths)."""
        entry = self._entries.get(("model", sim_id))
        if entry is None or not entry.done() or entry.exception() is not None:
            return None
        result: SimulationModel = entry.result()
        return result

    async def _get(self, key: tuple[str, int], build: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is None:
            entry = asyncio.ensure_future(build())
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
