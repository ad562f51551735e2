"""Boss endpoints: dead letters per simulation and across them, replay, and thinning events.

Replay follows the runbook's safety rules: a dry run (the default) shows the selection by
category and moves nothing; a real replay re-enqueues at most ``limit`` dead letters, never more
than DLQ_REPLAY_LIMIT_CAP, each with one attempt unless ``useFullRetry``. Every call, dry or not,
counts against a limit of 5 per user per 30 s; past it the answer is 429 with ``retryAfterMs``.

With Redis down, reads answer empty with ``source: "redis-disabled"``; a replay answers 503.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from api.access import sim_keys, visible_simulation
from api.appkeys import MODELS, QUEUE, REDIS, REPLAY_LIMITER, SETTINGS, SIMULATION_SERVICE
from api.errors import TooManyRequests, Unavailable
from api.live import RedisDown, live
from api.routing import Call, Reply, Routes
from api.schemas import Camel, Source
from engine.runtime import thinning
from engine.runtime.outcomes import DeadLetterCategory
from engine.runtime.replay import replay_dead_letters

routes = Routes("dead-letters")


class DeadLetterSample(Camel):
    id: str = Field(description="the job id")
    type: str
    category: str
    error: str
    attempts: int
    failed_at: int = Field(description="epoch ms")


class DeadLettersOut(Camel):
    simulation_id: int
    source: Source
    total: int
    counts: dict[str, int] = Field(description="dead letters by category")
    samples: list[DeadLetterSample] = Field(description="the newest dead letters, newest first")


@routes.route(
    "GET",
    "/api/simulations/{id}/dlq",
    summary="Dead letters of a simulation: counts by category and the newest samples",
    auth="boss",
    responses={200: DeadLettersOut},
)
async def get_dead_letters(call: Call) -> Reply:
    row = await visible_simulation(call)
    try:
        found = await live(call.request.app[QUEUE].dead_letters.scope(str(row.id)))
    except RedisDown:
        body = DeadLettersOut(
            simulation_id=row.id, source="redis-disabled", total=0, counts={}, samples=[]
        )
        return Reply(200, body)
    body = DeadLettersOut(
        simulation_id=row.id,
        source="redis",
        total=found.total,
        counts=dict(found.counts),
        samples=[DeadLetterSample.model_validate(sample) for sample in found.samples],
    )
    return Reply(200, body)


class SummaryOut(Camel):
    source: Source
    total: int
    by_category: dict[str, int]
    simulations: dict[str, dict[str, int]] = Field(
        description="per simulation id, its dead letters by category"
    )
    links: dict[str, str] = Field(
        default_factory=dict,
        description="per simulation id, the path of its dead letters (`GET` lists them, "
        "`DELETE` purges, `POST …/replay` replays)",
    )


@routes.route(
    "GET",
    "/api/dlq/summary",
    summary="Dead letters across every simulation, by category, with a link to each one's",
    auth="boss",
    responses={200: SummaryOut},
)
async def dead_letter_summary(call: Call) -> Reply:
    try:
        summary = await live(call.request.app[QUEUE].dead_letters.summary())
    except RedisDown:
        body = SummaryOut(source="redis-disabled", total=0, by_category={}, simulations={})
        return Reply(200, body)
    body = SummaryOut(
        source="redis",
        total=summary.total,
        by_category=dict(summary.by_category),
        simulations={scope: dict(counts) for scope, counts in summary.scopes.items()},
        links={scope: f"/api/simulations/{scope}/dlq" for scope in summary.scopes},
    )
    return Reply(200, body)


class ReplayIn(Camel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=True, description="only count the selection (the default)")
    categories: list[DeadLetterCategory] | None = Field(
        default=None,
        max_length=len(DeadLetterCategory),
        description="only these categories (all if absent)",
    )
    limit: int | None = Field(
        default=None, ge=1, le=10_000, description="most to replay; capped by DLQ_REPLAY_LIMIT_CAP"
    )
    use_full_retry: bool = Field(
        default=False, description="replayed jobs get the type's whole retry profile, not one try"
    )


class ReplayOut(Camel):
    simulation_id: int
    dry_run: bool
    limit: int = Field(description="the limit applied (after the cap)")
    cap: int = Field(description="DLQ_REPLAY_LIMIT_CAP")
    selected: dict[str, int] = Field(description="matching dead letters by category")
    selected_total: int
    replayed: int
    already_live: int = Field(description="dropped because the same job is queued again already")


@routes.route(
    "POST",
    "/api/simulations/{id}/dlq/replay",
    summary="Replay dead letters (dry run by default); 5 calls per 30 s per user",
    auth="boss",
    body=ReplayIn,
    responses={200: ReplayOut},
    errors=(429, 503),
)
async def replay(call: Call) -> Reply:
    """Dry-run first; fix the cause of validation or auth failures before replaying them."""
    app = call.request.app
    row = await visible_simulation(call)
    body = call.body_as(ReplayIn)
    try:
        wait_ms = await live(app[REPLAY_LIMITER].take(call.caller.id))
        if wait_ms:
            seconds = str(-(-wait_ms // 1000))
            raise TooManyRequests(
                f"at most {app[REPLAY_LIMITER].limit} replay calls per "
                f"{app[REPLAY_LIMITER].window_ms // 1000} s; retry in {wait_ms} ms",
                wait_ms,
                headers={"Retry-After": seconds},
            )
        result = await live(
            replay_dead_letters(
                app[REDIS],
                app[QUEUE],
                app[SIMULATION_SERVICE],
                sim_keys(call, row.id),
                row,
                categories=body.categories,
                limit=body.limit,
                dry_run=body.dry_run,
                full_retry=body.use_full_retry,
                model=await app[MODELS].model(row),
                segment_ms=app[SETTINGS].runtime.segment_ms,
            )
        )
    except RedisDown:
        raise Unavailable("Redis is down: dead letters cannot be replayed now") from None
    if result.jobs:  # a completed run is running again: no stale status from the cache
        await visible_simulation(call, fresh=True)
    out = ReplayOut(
        simulation_id=row.id,
        dry_run=result.dry_run,
        limit=result.limit,
        cap=app[SETTINGS].queue.replay_limit_cap,
        selected=dict(result.selected),
        selected_total=result.selected_total,
        replayed=result.replayed,
        already_live=result.already_live,
    )
    return Reply(200, out)


class ThinningEvent(Camel):
    at: int = Field(description="epoch ms")
    before: int
    after: int
    factor: float
    total_waiting: int
    reason: str


class ThinningOut(Camel):
    simulation_id: int
    source: Source
    events: list[ThinningEvent] = Field(description="newest first")


class ThinningQuery(Camel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=100_000, description="most events to return")


@routes.route(
    "GET",
    "/api/simulations/{id}/thinning-events",
    summary="Decisions to skip optional activities under pressure, newest first",
    auth="boss",
    query=ThinningQuery,
    responses={200: ThinningOut},
)
async def thinning_events(call: Call) -> Reply:
    app = call.request.app
    row = await visible_simulation(call)
    limit = min(call.query_as(ThinningQuery).limit, app[SETTINGS].runtime.thinning_events_max)
    try:
        events = await live(thinning.read(app[REDIS], sim_keys(call, row.id), limit))
    except RedisDown:
        return Reply(200, ThinningOut(simulation_id=row.id, source="redis-disabled", events=[]))
    body = ThinningOut(
        simulation_id=row.id,
        source="redis",
        events=[ThinningEvent.model_validate(event) for event in events],
    )
    return Reply(200, body)
