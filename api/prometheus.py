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
- the queue per shard and the limiter per HubSpot account known, as
  :mod:`engine.telemetry.families` describes (``simcrm_queue_depth{shard}``,
  ``simcrm_limiter_breaker_state{portal}``, …); the per-account series (label ``portal``) only
  for a scraper that sends METRICS_TOKEN;
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
from engine.telemetry.families import limiter_families, queue_families
from limits import LimiterState
from streams import ShardStats

log = structlog.get_logger()


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
        yield from queue_families(snap.shards)
        yield from limiter_families(snap.limits)


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
