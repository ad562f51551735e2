"""The dry run: what a simulation will do, summarised without touching a CRM or Redis.

Arrivals per local day, local hour and weekday are exact for any N: each grid bucket's count is
the size of its index range (two O(log N) look-ups), so ten million records cost no more than ten.
Activities are exact when every record is planned (N ≤ ``sample``, by default ``EXACT_LIMIT``, or
``exact=True``):
budgets are then applied in index order, as the runtime will. Above the limit they are estimated
from an evenly spaced sample of ``sample`` records, scaled to N, budgets capping the totals
(for ``poisson`` the sampled records sit at their expected quantile); the summary says which.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from engine.model.activities import PlannedActivity, RecordPlan
from engine.model.budgets import BudgetLedger, budgets
from engine.model.capacity import LoadEstimate, estimate
from engine.model.model import SimulationModel
from engine.model.scenario import ActivityType
from engine.model.spec import from_epoch_ms
from limits.config import DEFAULT_TIER

EXACT_LIMIT = 100_000
Progress = Callable[[int, int], None]
"""Called with (records done, records to do) as activity planning advances."""


@dataclass(frozen=True, slots=True)
class TypeTotals:
    """One activity type: items planned within budget, dropped past the window, over budget."""

    kind: ActivityType
    planned: int
    past_window: int
    over_budget: int
    budget: int | None

    def as_json(self) -> dict[str, object]:
        return {
            "type": self.kind.value,
            "planned": self.planned,
            "past_window": self.past_window,
            "over_budget": self.over_budget,
            "budget": self.budget,
        }


@dataclass(frozen=True, slots=True)
class Arrivals:
    """Arrival counts over the grid and their local-time histograms."""

    per_bucket: tuple[int, ...]
    per_day: tuple[tuple[date, int], ...]
    per_hour: tuple[int, ...]
    per_weekday: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PlanSummary:
    model: SimulationModel
    arrivals: Arrivals
    first_ms: int
    last_ms: int
    activities: tuple[TypeTotals, ...]
    exact: bool
    planned_records: int
    loads: tuple[LoadEstimate, ...]

    def as_json(self) -> dict[str, object]:
        spec = self.model.spec
        return {
            "simulation": {"id": spec.sim_id, **spec.definition()},
            "records": spec.total_records,
            "first_arrival": from_epoch_ms(self.first_ms).isoformat(),
            "last_arrival": from_epoch_ms(self.last_ms).isoformat(),
            "arrivals_per_day": [
                {"date": day.isoformat(), "count": count} for day, count in self.arrivals.per_day
            ],
            "arrivals_per_local_hour": list(self.arrivals.per_hour),
            "arrivals_per_weekday": list(self.arrivals.per_weekday),
            "activities": [totals.as_json() for totals in self.activities],
            "activities_exact": self.exact,
            "activities_planned_records": self.planned_records,
            "load": [load.as_json() for load in self.loads],
        }


def arrivals(model: SimulationModel) -> Arrivals:
    """Counts per grid bucket and per local day, hour and weekday (exact, O(B log N))."""
    grid = model.grid
    firsts = [model.schedule.first_at_or_after(bound) for bound in grid.bounds]
    firsts[-1] = model.spec.total_records
    per_bucket = tuple(firsts[j + 1] - firsts[j] for j in range(grid.size))
    days: dict[int, int] = {}
    hours = [0] * 24
    weekdays = [0] * 7
    for j, count in enumerate(per_bucket):
        days[grid.local_dates[j]] = days.get(grid.local_dates[j], 0) + count
        hours[grid.local_hours[j]] += count
        weekdays[grid.weekdays[j]] += count
    per_day = tuple((date.fromordinal(day), count) for day, count in sorted(days.items()))
    return Arrivals(per_bucket, per_day, tuple(hours), tuple(weekdays))


def record_plans(
    model: SimulationModel, indices: range, progress: Progress | None = None
) -> Iterator[RecordPlan]:
    """Plans of the records in ``indices`` in order, reporting progress every 10,000."""
    schedule, planner = model.schedule, model.planner
    if indices.step == 1:
        times: Iterator[int] = schedule.times(indices.start, indices.stop)
    else:
        times = (schedule.time_of(i) for i in indices)
    for done, (index, at_ms) in enumerate(zip(indices, times, strict=False), start=1):
        yield planner.plan(index, at_ms)
        if progress is not None and done % 10_000 == 0:
            progress(done, len(indices))
    if progress is not None:
        progress(len(indices), len(indices))


class Tally:
    """Counts of planned, over-budget and past-window items per type, fed one record at a time
    in index order (budgets are applied here, as the runtime will)."""

    def __init__(self, model: SimulationModel) -> None:
        self.ledger = BudgetLedger(model.spec.scenario)
        self.limits = budgets(model.spec.scenario)
        self.planned = dict.fromkeys(self.limits, 0)
        self.over = dict.fromkeys(self.limits, 0)
        self.past = dict.fromkeys(self.limits, 0)
        self.records = 0

    def add(self, plan: RecordPlan) -> tuple[list[PlannedActivity], list[PlannedActivity]]:
        """Count ``plan`` (the next record) and return its kept and over-budget activities."""
        kept, refused = self.ledger.admit(plan)
        for activity in kept:
            self.planned[activity.kind] += 1
        for activity in refused:
            self.over[activity.kind] += 1
        for kind, count in plan.past_window.items():
            self.past[kind] += count
        self.records += 1
        return kept, refused


def _sampled(
    model: SimulationModel, tally: Tally, progress: Progress | None, size: int = EXACT_LIMIT
) -> None:
    """Estimate ``tally`` from ``size`` evenly spaced records, scaled to N."""
    total = model.spec.total_records
    stride = total / size
    iid = model.spec.method.iid
    for done, index in enumerate((int((k + 0.5) * stride) for k in range(size)), 1):
        # Poisson records are placed at their expected quantile: an exact order statistic
        # costs a tree walk, and the sample only has to represent the distribution.
        at_ms = model.profile.time_at((index + 0.5) / total) if iid else model.time_of(index)
        plan = model.planner.plan(index, at_ms)
        for activity in plan.activities:
            tally.planned[activity.kind] += 1
        for kind, count in plan.past_window.items():
            tally.past[kind] += count
        if progress is not None and done % 10_000 == 0:
            progress(done, size)
    tally.records = size
    for kind, budget in tally.limits.items():
        scaled = round(tally.planned[kind] * stride)
        tally.planned[kind] = scaled if budget is None else min(scaled, budget)
        tally.over[kind] = scaled - tally.planned[kind]
        tally.past[kind] = round(tally.past[kind] * stride)


def summarize(
    model: SimulationModel,
    *,
    tiers: tuple[int, ...] = (DEFAULT_TIER,),
    exact: bool = False,
    progress: Progress | None = None,
    tally: Tally | None = None,
    sample: int = EXACT_LIMIT,
) -> PlanSummary:
    """The plan summary of ``model``'s simulation (see the module docstring).

    ``tally`` is a complete exact tally already made (by an export that planned every record);
    without it, records are planned here: every one up to ``sample`` records, else ``sample``
    of them (a smaller ``sample`` makes a quicker, rougher estimate).
    """
    spec = model.spec
    total = spec.total_records
    counted = arrivals(model)
    full = tally is not None or exact or total <= sample
    if tally is None:
        tally = Tally(model)
        if full:
            for plan in record_plans(model, range(total), progress):
                tally.add(plan)
        else:
            _sampled(model, tally, progress, sample)
    limits, planned, past, over = tally.limits, tally.planned, tally.past, tally.over
    totals = tuple(
        TypeTotals(kind, planned[kind], past[kind], over[kind], limits[kind]) for kind in limits
    )
    request_totals = {"contact": total, **{t.kind.value: t.planned for t in totals}}
    bucket_ms = [b - a for a, b in zip(model.grid.bounds, model.grid.bounds[1:], strict=False)]
    loads = tuple(
        estimate(
            bucket_ms=bucket_ms,
            arrivals=counted.per_bucket,
            totals=request_totals,
            records=total,
            time_scale=spec.time_scale,
            backfill=spec.backfill,
            tier=tier,
        )
        for tier in tiers
    )
    return PlanSummary(
        model=model,
        arrivals=counted,
        first_ms=model.time_of(0),
        last_ms=model.time_of(total - 1),
        activities=totals,
        exact=full,
        planned_records=tally.records,
        loads=loads,
    )
