"""``GET /metrics``: Prometheus text exposition (when METRICS_PROM_ENABLED).

With ``METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <METRICS_TOKEN>`` (401
otherwise) and gets everything below. Without it the endpoint is open, and leaves out the series
labelled by HubSpot account (``portal``): who the customers are and how hard they are pushed is
not for anyone who can reach the port.

Everything is read from Redis at scrape time, so one API instance reports for every daemon:

- ``simcrm_job_duration_seconds{type}`` — histogram of handler time per job type, with
  PROM_DEFAULT_BUCKETS (recorded by the workers, see :mod:`engine.telemetry`);
- ``simcrm_jobs_total{type,outcome}`` — jobs settled per type and outcome (ok, retry, deferred,
  dead);
- ``simcrm_queue_depth{shard}`` and the parts of it: ``simcrm_queue_waiting``/``_pending``
  ``{shard,stream}``, ``simcrm_queue_delayed{shard}``, ``simcrm_queue_dead_letters{shard}``,
  ``simcrm_queue_mover_lag_seconds{shard}``;
- per HubSpot account known (label ``portal``; only with METRICS_TOKEN):
  ``simcrm_limiter_window_used`` and ``_limit``,
  ``simcrm_limiter_daily_used``, ``simcrm_limiter_bucket_tokens`` and ``_capacity{kind}``,
  ``simcrm_limiter_cooldown_seconds``, ``simcrm_limiter_breaker_state`` (0 closed, 1 half-open,
  2 open), ``simcrm_limiter_breaker_trips``;
- ``simcrm_redis_up`` — 0 when Redis did not answer (the rest is then left out).

The process's own metrics (the default registry: CPU, memory, GC) follow.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from api.appkeys import LIMITER, PORTALS, QUEUE, REDIS, SETTINGS
from api.errors import Unauthorized
from api.live import UNREACHABLE
from engine.telemetry import JobStats, JobTelemetry, TelemetryKeys
from limits import BreakerState, LimiterState
from streams import ShardStats

log = structlog.get_logger()

BREAKER_CODES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(slots=True)
class Snapshot:
    """What one scrape read."""

    redis_up: bool = True
    jobs: JobStats = field(default_factory=dict)
    shards: list[ShardStats] = field(default_factory=list)
    limits: list[LimiterState] = field(default_factory=list)


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        up = GaugeMetricFamily("simcrm_redis_up", "1 when Redis answered this scrape")
        up.add_metric([], 1 if snap.redis_up else 0)
        yield up
        yield from _jobs(snap.jobs)
        yield from _queue(snap.shards)
        yield from _limits(snap.limits)


def _jobs(jobs: JobStats) -> Iterator[Metric]:
    duration = HistogramMetricFamily(
        "simcrm_job_duration_seconds",
        "Handler time per job (a batch's time for each of its jobs)",
        labels=["type"],
    )
    outcomes = CounterMetricFamily(
        "simcrm_jobs", "Jobs settled, by type and outcome", labels=["type", "outcome"]
    )
    for job_type, stats in jobs.items():
        buckets = [
            ("+Inf" if math.isinf(bound) else f"{bound / 1000:g}", count)
            for bound, count in stats.buckets
        ]
        duration.add_metric([job_type], buckets, stats.sum_ms / 1000)
        for outcome, count in sorted(stats.outcomes.items()):
            outcomes.add_metric([job_type, outcome], count)
    yield duration
    yield outcomes


def _queue(shards: list[ShardStats]) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "simcrm_queue_depth",
        "Jobs not yet done per shard: waiting, pending and delayed",
        labels=["shard"],
    )
    waiting = GaugeMetricFamily(
        "simcrm_queue_waiting", "Jobs ready and not yet delivered", labels=["shard", "stream"]
    )
    pending = GaugeMetricFamily(
        "simcrm_queue_pending", "Jobs delivered and not yet settled", labels=["shard", "stream"]
    )
    delayed = GaugeMetricFamily("simcrm_queue_delayed", "Jobs due later", labels=["shard"])
    dead = GaugeMetricFamily("simcrm_queue_dead_letters", "Dead letters kept", labels=["shard"])
    lag = GaugeMetricFamily(
        "simcrm_queue_mover_lag_seconds",
        "How far past due the earliest delayed job is",
        labels=["shard"],
    )
    for shard in shards:
        label = str(shard.shard)
        depth.add_metric([label], shard.depth)
        for stream, stats in shard.streams.items():
            waiting.add_metric([label, stream], stats.waiting)
            pending.add_metric([label, stream], stats.pending)
        delayed.add_metric([label], shard.delayed)
        dead.add_metric([label], shard.dead)
        lag.add_metric([label], shard.overdue_ms / 1000)
    yield from (depth, waiting, pending, delayed, dead, lag)


def _limits(states: list[LimiterState]) -> Iterator[Metric]:
    def gauge(name: str, text: str, extra: tuple[str, ...] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, text, labels=["portal", *extra])

    used = gauge("simcrm_limiter_window_used", "Requests admitted in the rolling burst window")
    limit = gauge("simcrm_limiter_window_limit", "The burst window's limit")
    daily = gauge("simcrm_limiter_daily_used", "Requests admitted since the daily reset")
    tokens = gauge("simcrm_limiter_bucket_tokens", "Tokens left in a kind's bucket", ("kind",))
    capacity = gauge("simcrm_limiter_bucket_capacity", "A kind's bucket capacity", ("kind",))
    cooldown = gauge("simcrm_limiter_cooldown_seconds", "Time left in a 429 cooldown")
    breaker = gauge("simcrm_limiter_breaker_state", "Breaker: 0 closed, 1 half-open, 2 open")
    trips = gauge("simcrm_limiter_breaker_trips", "Times the breaker opened")
    for state in states:
        portal = state.portal
        used.add_metric([portal], state.window_used)
        limit.add_metric([portal], state.window_limit)
        daily.add_metric([portal], state.daily_used)
        for kind, bucket in state.buckets.items():
            tokens.add_metric([portal, kind], bucket.tokens)
            capacity.add_metric([portal, kind], bucket.capacity)
        left = max(0, (state.cooldown_until_ms or state.at_ms) - state.at_ms)
        cooldown.add_metric([portal], left / 1000)
        breaker.add_metric([portal], BREAKER_CODES[state.breaker])
        trips.add_metric([portal], state.breaker_trips)
    yield from (used, limit, daily, tokens, capacity, cooldown, breaker, trips)


async def take_snapshot(app: web.Application, *, accounts: bool = True) -> Snapshot:
    """What Redis says now; ``accounts``: with each known account's limiter state."""
    snapshot = Snapshot()
    settings = app[SETTINGS]
    telemetry = JobTelemetry(
        app[REDIS], settings.observability.buckets_ms, TelemetryKeys(settings.redis.key_prefix)
    )
    try:
        snapshot.jobs = await telemetry.read()
        snapshot.shards = await app[QUEUE].stats()
        for portal in await app[PORTALS].known() if accounts else ():
            snapshot.limits.append(await app[LIMITER].state(portal))
    except UNREACHABLE as exc:
        log.info("metrics_redis_unreachable", error=type(exc).__name__)
        return Snapshot(redis_up=False)
    return snapshot


def _scraper_authorized(request: web.Request) -> bool:
    """True when METRICS_TOKEN is set and sent; Unauthorized when it is set and not sent."""
    token = request.app[SETTINGS].observability.metrics_token
    if token is None:
        return False
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        sent.strip().encode(errors="surrogateescape"), expected
    ):
        raise Unauthorized("send METRICS_TOKEN as 'Authorization: Bearer <token>'")
    return True


async def metrics(request: web.Request) -> web.Response:
    accounts = _scraper_authorized(request)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(await take_snapshot(request.app, accounts=accounts)))
    body = generate_latest(registry) + generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def install(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
