"""A daemon's own ``/metrics`` (``--metrics-port`` / SIMCRM_METRICS_PORT), served by
prometheus-async.

What this process did, counted in memory since it started:

- ``simcrm_worker_job_duration_seconds{type}`` — histogram of handler time per job, with
  PROM_DEFAULT_BUCKETS (a job of a batch is charged the batch's time);
- ``simcrm_worker_jobs_total{type,outcome}`` — jobs this process settled, by outcome (``ok``,
  ``retry``, ``deferred``, ``dead``);

and what it last saw of the shared state, re-read every ``REFRESH_MS`` in the background (a
scrape never waits on Redis): the queue per shard, lateness included, and the limiter and breaker
of every HubSpot account it knows, with the series of :mod:`engine.telemetry.families`;
``simcrm_worker_state_age_seconds`` says how old that reading is. The process's own metrics
(CPU, memory, GC) come with them.

The numbers of one daemon are its own: add them up across daemons in Prometheus. The API's
``/metrics`` reports the same job series for every daemon at once under ``simcrm_job_*``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from prometheus_async.aio.web import MetricsHTTPServer, start_http_server
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.clock import Clock
from engine.telemetry.families import limiter_families, queue_families
from engine.telemetry.jobs import instrument, outcome_name
from limits import LimiterState
from streams import Handler, Outcome, ShardStats

log = structlog.get_logger()

REFRESH_MS = 1_000

ReadShards = Callable[[], Awaitable[list[ShardStats]]]
ReadLimits = Callable[[], Awaitable[list[LimiterState]]]


@dataclass(slots=True)
class SharedState:
    """The queue and limiter state as last read, and when (clock ms; None: never)."""

    shards: list[ShardStats] = field(default_factory=list)
    limits: list[LimiterState] = field(default_factory=list)
    read_at_ms: int | None = None


class DaemonMetrics(Collector):
    """The series of one daemon process; :meth:`serve` puts them on ``/metrics``."""

    def __init__(self, buckets_ms: Sequence[float], *, clock: Clock) -> None:
        self._clock = clock
        self.duration = Histogram(
            "simcrm_worker_job_duration_seconds",
            "Handler time per job in this process (a batch's time for each of its jobs)",
            ["type"],
            buckets=sorted(b / 1000 for b in buckets_ms),
            registry=None,
        )
        self.jobs = Counter(
            "simcrm_worker_jobs",
            "Jobs this process settled, by type and outcome",
            ["type", "outcome"],
            registry=None,
        )
        self.state = SharedState()

    def instrument(self, handlers: Mapping[str, Handler]) -> dict[str, Handler]:
        """The same handler table, each call timed and its outcomes counted here."""
        return instrument(handlers, self.record)

    async def record(self, job_type: str, outcomes: Sequence[Outcome], elapsed_ms: float) -> None:
        for outcome in outcomes:
            self.duration.labels(job_type).observe(elapsed_ms / 1000)
            self.jobs.labels(job_type, outcome_name(outcome)).inc()

    async def refresh(self, read_shards: ReadShards, read_limits: ReadLimits) -> None:
        """Read the shared state once; on failure keep the last reading (its age grows)."""
        try:
            shards = await read_shards()
            limits = await read_limits()
        except Exception as exc:
            log.warning("daemon_metrics_refresh_failed", error=type(exc).__name__)
            return
        self.state = SharedState(shards, limits, self._clock.now_ms())

    async def refresh_loop(
        self, read_shards: ReadShards, read_limits: ReadLimits, stop: asyncio.Event
    ) -> None:
        """:meth:`refresh` every REFRESH_MS of the clock until ``stop`` is set."""
        while not stop.is_set():
            await self.refresh(read_shards, read_limits)
            await self._clock.sleep_ms(REFRESH_MS)

    def collect(self) -> Iterator[Metric]:
        yield from self.duration.collect()
        yield from self.jobs.collect()
        state = self.state
        age = GaugeMetricFamily(
            "simcrm_worker_state_age_seconds",
            "How old this process's reading of the queue and limiter state is (-1: none yet)",
        )
        read_at = state.read_at_ms
        age.add_metric([], -1 if read_at is None else (self._clock.now_ms() - read_at) / 1000)
        yield age
        yield from queue_families(state.shards)
        yield from limiter_families(state.limits)

    async def serve(self, host: str, port: int) -> MetricsHTTPServer:
        """Start serving ``/metrics`` on ``host:port`` (port 0: any free one); close the
        returned server to stop. The process registry (the only global one) carries this
        collector while it is served."""
        REGISTRY.register(self)
        try:
            server = await start_http_server(addr=host, port=port)
        except BaseException:
            REGISTRY.unregister(self)
            raise
        log.info("daemon_metrics_serving", url=f"{server.url}metrics")
        return server

    def withdraw(self) -> None:
        """Take this collector off the process registry (after the server closed)."""
        REGISTRY.unregister(self)
