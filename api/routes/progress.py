"""How a simulation is doing: live metrics, segment expansion, its plan, and its account's limits.

Metrics come from Redis while it answers (``source: "redis"``), else from the durable counters in
the store (``source: "db"``), which the daemons raise to the live numbers every few seconds.
Segments and limiter state live only in Redis: with Redis down they answer
``source: "redis-disabled"`` with what the store alone can tell.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from api.access import sim_keys, visible_simulation
from api.appkeys import CLOCK, CLOCKS, LIMITER, MODELS, PORTALS, REDIS, SETTINGS, STORE
from api.cache import TtlCache
from api.errors import field_error
from api.live import RedisDown, live
from api.plans import CurveBucket
from api.routing import Call, Reply, Routes
from api.schemas import Camel, LimiterView, Source
from engine.model import DefinitionError, Segment, SimulationInput, SimulationModel
from engine.model.spec import from_epoch_ms
from engine.runtime import metrics
from engine.runtime.backlog import LATE_MAX_MS, LATE_MS
from engine.runtime.expander import SegmentState, segment_fields, states_of
from engine.runtime.timing import Timing
from schema.simulations import Simulation, SimulationStatus

routes = Routes("progress")

METRIC_NAMES = tuple(metric.value for metric in metrics.Metric)
CLOCK_STEP_MS = 100


class Totals(Camel):
    scheduled: int = 0
    settled: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    dead: int = 0
    thinned: int = 0
    skipped: int = 0
    rate_limited: int = 0
    replayed: int = 0


class SimClock(Camel):
    simulated_now_ms: int = Field(description="the simulated moment the run has reached")
    due_records: int = Field(description="records whose simulated time has come")


class MetricsOut(Camel):
    simulation_id: int
    status: SimulationStatus
    source: Source
    counts: dict[str, dict[str, int]] = Field(
        description="per job type (and `all`), per metric: scheduled, created, updated, failed, "
        "dead, thinned, skipped, rate_limited"
    )
    totals: Totals
    clock: SimClock | None


def totals_of(counts: metrics.Counts) -> Totals:
    """Each metric summed over the job types (one pass); ``settled`` and the overall
    ``scheduled`` come from the ``all`` totals."""
    values = dict.fromkeys(METRIC_NAMES, 0)
    for job_type, by_metric in counts.items():
        if job_type == "all":
            continue
        for name, value in by_metric.items():
            if name in values:
                values[name] += value
    overall = counts.get("all", {})
    values["scheduled"] = overall.get("scheduled", values["scheduled"])
    # Built without validation: every value is an int from the counters (the hot path).
    values["settled"] = overall.get("settled", 0)
    return Totals.model_construct(None, **values)


def sim_clock(row: Simulation, model: SimulationModel | None, now_ms: int) -> SimClock | None:
    """Where a started simulation's clock stands (needs its model; None before it is built)."""
    if model is None or row.started_at is None:
        return None
    timing = Timing.for_row(model.spec, row)
    spec = model.spec
    simulated = max(spec.start_ms, min(timing.simulated_ms(now_ms), spec.end_ms))
    due = spec.total_records
    if simulated < spec.end_ms:
        due = model.schedule.first_at_or_after(simulated)
    return SimClock(simulated_now_ms=simulated, due_records=due)


@routes.route(
    "GET",
    "/api/simulations/{id}/metrics",
    summary="Live counts per job type (from Redis, else the store's durable counters)",
    responses={200: MetricsOut},
)
async def get_metrics(call: Call) -> Reply:
    app = call.request.app
    row = await visible_simulation(call)
    counts: metrics.Counts = {}
    source: Source = "db"
    if app[SETTINGS].observability.redis_progress:
        try:
            counts = await live(metrics.read(app[REDIS], sim_keys(call, row.id)))
            source = "redis"
        except RedisDown:
            counts = {}
    if not counts:
        counts, source = await app[STORE].counters.get(row.id), "db"
    model = app[MODELS].cached_model(row.id)
    if model is None and row.status in (SimulationStatus.RUNNING, SimulationStatus.PAUSED):
        model = await app[MODELS].model(row)
    body = MetricsOut.model_construct(
        simulation_id=row.id,
        status=row.status,
        source=source,
        counts=counts,
        totals=totals_of(counts),
        clock=_memo_clock(app[CLOCKS], row, model, app[CLOCK].now_ms()),
    )
    return Reply(200, body)


def _memo_clock(
    memo: TtlCache[tuple[int, int], SimClock | None],
    row: Simulation,
    model: SimulationModel | None,
    now_ms: int,
) -> SimClock | None:
    """:func:`sim_clock`, computed once per simulation and tenth of a second (polling clients
    ask many times a second; a tenth of a second moves the clock by little)."""
    if model is None or row.started_at is None:
        return None
    key = (row.id, now_ms // CLOCK_STEP_MS)
    clock = memo.get(key)
    if clock is None:
        clock = sim_clock(row, model, now_ms)
        memo.put(key, clock)
    return clock


class SegmentOut(Camel):
    number: int
    start_ms: int
    end_ms: int
    first: int = Field(description="the segment's first record")
    stop: int = Field(description="one past its last record")
    upto: int | None = Field(description="records [first, upto) are queued; null: unknown")
    expanded_at_ms: int | None
    done: bool | None


class SegmentsOut(Camel):
    simulation_id: int
    segment_ms: int
    total: int = Field(description="number of segments in the window")
    next: int | None = Field(description="first segment not fully expanded; null: unknown")
    late_ms: int | None = Field(
        description="how long its first record not yet queued has been due (0: on schedule; a "
        "time-scaled run the CRM cannot keep up with waits at SIMCRM_BACKLOG_MAX); null: unknown"
    )
    late_max_ms: int | None = Field(description="the most it was ever behind; null: unknown")
    source: Source
    segments: list[SegmentOut]


class SegmentsQuery(Camel):
    model_config = ConfigDict(extra="forbid")

    offset: int = Field(default=0, ge=0, le=10_000_000, description="first segment number")
    limit: int = Field(default=100, ge=1, le=1_000, description="most segments to return")


@routes.route(
    "GET",
    "/api/simulations/{id}/segments",
    summary="Segment ranges (records per slice of simulated time) and their expansion state",
    query=SegmentsQuery,
    responses={200: SegmentsOut},
)
async def get_segments(call: Call) -> Reply:
    app = call.request.app
    query = call.query_as(SegmentsQuery)
    row = await visible_simulation(call)
    model = await app[MODELS].model(row)
    length = app[SETTINGS].runtime.segment_ms
    total = model.schedule.segment_count(length)
    numbers = range(min(query.offset, total), min(query.offset + query.limit, total))
    segments = [model.segment(number, length) for number in numbers]
    fields: dict[str, int] | None
    try:
        fields = segment_fields(await live(app[REDIS].hgetall(sim_keys(call, row.id).segments)))
    except RedisDown:
        fields = None
    if fields is None:
        items = [_segment_out(segment, None) for segment in segments]
    else:
        items = [_segment_out(state.segment, state) for state in states_of(segments, fields)]
    body = SegmentsOut(
        simulation_id=row.id,
        segment_ms=length,
        total=total,
        next=None if fields is None else fields.get("next", 0),
        late_ms=None if fields is None else fields.get(LATE_MS, 0),
        late_max_ms=None if fields is None else fields.get(LATE_MAX_MS, 0),
        source="redis-disabled" if fields is None else "redis",
        segments=items,
    )
    return Reply(200, body)


def _segment_out(segment: Segment, state: SegmentState | None) -> SegmentOut:
    return SegmentOut(
        number=segment.number,
        start_ms=segment.start_ms,
        end_ms=segment.end_ms,
        first=segment.first,
        stop=segment.stop,
        upto=None if state is None else state.upto,
        expanded_at_ms=None if state is None else state.expanded_at_ms,
        done=None if state is None else state.done,
    )


class CurveOut(Camel):
    start_ms: int
    end_ms: int
    first: int = Field(description="index of the bucket's first record")
    planned: int = Field(description="records arriving in the bucket")

    @classmethod
    def of(cls, bucket: CurveBucket) -> CurveOut:
        return cls(
            start_ms=bucket.start_ms,
            end_ms=bucket.end_ms,
            first=bucket.first,
            planned=bucket.planned,
        )


class ActivityOut(Camel):
    type: str
    planned: int
    past_window: int
    over_budget: int
    budget: int | None


class PlanOut(Camel):
    simulation_id: int
    records: int
    first_arrival: datetime
    last_arrival: datetime
    planned: dict[str, int] = Field(description="objects planned per job type (contact first)")
    activities: list[ActivityOut]
    exact: bool = Field(description="false: activities estimated from a sample of records")
    curve: list[CurveOut]


@routes.route(
    "GET",
    "/api/simulations/{id}/plan",
    summary="The simulation's plan: arrival curve and planned objects per type",
    responses={200: PlanOut},
    errors=(503,),
)
async def get_plan(call: Call) -> Reply:
    """Computed once per simulation and kept: activities are exact up to 5,000 records and
    estimated from a 5,000-record sample above that (`exact` says which)."""
    row = await visible_simulation(call)
    view = await call.request.app[MODELS].plan(row)
    summary = view.summary
    body = PlanOut(
        simulation_id=row.id,
        records=row.total_records,
        first_arrival=from_epoch_ms(summary.first_ms),
        last_arrival=from_epoch_ms(summary.last_ms),
        planned=view.planned(),
        activities=[
            ActivityOut(
                type=item.kind.value,
                planned=item.planned,
                past_window=item.past_window,
                over_budget=item.over_budget,
                budget=item.budget,
            )
            for item in summary.activities
        ],
        exact=summary.exact,
        curve=[CurveOut.of(bucket) for bucket in view.curve],
    )
    return Reply(200, body)


class PreviewOut(Camel):
    records: int
    first_arrival: datetime
    last_arrival: datetime
    curve: list[CurveOut]


@routes.route(
    "POST",
    "/api/simulations/preview",
    summary="Preview a definition's arrival curve without creating anything",
    body=SimulationInput,
    responses={200: PreviewOut},
    errors=(503,),
)
async def preview(call: Call) -> Reply:
    """For the dashboard's live preview while a simulation is being defined. Computed in a model
    worker process: 503 ``busy`` with Retry-After when they all have work queued already."""
    body = call.body_as(SimulationInput)
    try:
        shown = await call.request.app[MODELS].preview(body)
    except DefinitionError as exc:
        raise field_error(exc.field, exc.reason) from None
    out = PreviewOut(
        records=shown.records,
        first_arrival=from_epoch_ms(shown.first_ms),
        last_arrival=from_epoch_ms(shown.last_ms),
        curve=[CurveOut.of(bucket) for bucket in shown.curve],
    )
    return Reply(200, out)


class LimitsOut(Camel):
    simulation_id: int
    portal: str | None = Field(description="the HubSpot account pacing it; null: not known yet")
    source: Source
    state: LimiterView | None


@routes.route(
    "GET",
    "/api/simulations/{id}/limits",
    summary="Rate-limit state of the simulation's HubSpot account (429 cooldown, breaker …)",
    responses={200: LimitsOut},
)
async def get_limits(call: Call) -> Reply:
    app = call.request.app
    row = await visible_simulation(call)
    portal = await app[PORTALS].portal_id(row)
    if portal is None:
        return Reply(200, LimitsOut(simulation_id=row.id, portal=None, source="redis", state=None))
    try:
        state = await live(app[LIMITER].state(portal))
    except RedisDown:
        body = LimitsOut(simulation_id=row.id, portal=portal, source="redis-disabled", state=None)
        return Reply(200, body)
    body = LimitsOut(
        simulation_id=row.id, portal=portal, source="redis", state=LimiterView.of(state)
    )
    return Reply(200, body)
