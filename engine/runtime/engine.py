"""The daemon: one object owning every connection and every loop of a worker process.

::

    async with Engine(settings, redis_url=url) as engine:
        await engine.run_until_signal()

Inside: queue workers for all shards (the delayed mover and the stalled-job reaper run with them),
and one control loop that, every tick of its clock, refreshes the simulations' statuses from the
store, expands the segments that are due, re-measures backlog pressure, detects completed
simulations, flushes live counters to the store, and sweeps the Redis state of simulations that
have ended (:mod:`.retention`). Many daemons can run at once, on many
machines: they share the consumer groups, segment expansion is leased per simulation, and each
created object is counted once.

One :class:`~core.clock.Clock` (the system clock unless one is given) reaches everything that
asks the time or waits on it: the queue (due times, backoff), the limiter, both HubSpot clients,
the runtime's planning, expansion and outcome rules, and the control loop's ticks. A test that
hands in a :class:`~core.clock.ManualClock` decides when time passes.

Redis and the database may be away — at start (the engine waits for them) or later (every loop
tries again): each outage is logged once when it starts and once when it ends
(:mod:`core.outages`). The counters' flush runs beside the control loop, never in its way: while
the database is locked or gone, expansion and every simulation go on, and the flush is tried again
at its next turn (the counters stay in Redis meanwhile, so nothing is lost).

A worker without TOKEN_ENC_SECRET refuses to start while the store holds HubSpot tokens
(:class:`MissingTokenSecret`); if a token is stored after it started, the first job that needs it
stops the worker instead (exit code :data:`EXIT_MISCONFIGURED`), its jobs handed back unspent —
the simulation is never failed for a worker's configuration.

Shutdown (SIGINT/SIGTERM): stop reading, let in-flight jobs finish within the grace period, hand
the rest back to the group for another daemon, cancel the HubSpot calls still in flight (cut by
us, they are not reported to the limiter as failures), flush counters, close connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import structlog

from core.clock import Clock, SystemClock
from core.lua import Scripts, lua_folder
from core.outages import Outages
from engine.crm import HubSpotTransport
from engine.redis_endpoint import connect_redis
from engine.runtime.availability import DATABASE_AWAY, REDIS_AWAY, away, when_available
from engine.runtime.context import HandlerContext
from engine.runtime.createdate import CreatedatePolicy
from engine.runtime.expander import Expander
from engine.runtime.handlers import Handlers
from engine.runtime.lifecycle import Lifecycle
from engine.runtime.outcomes import Outcomes
from engine.runtime.planning import Planner
from engine.runtime.pressure import Pressure
from engine.runtime.registry import Known, Registry
from engine.runtime.retention import SWEEP_MS, Retention
from engine.simulations import HubSpotTokens, NoTokenSecret, Portals, Simulations
from engine.telemetry.daemon import DaemonMetrics
from engine.telemetry.jobs import JobTelemetry
from engine.telemetry.keys import TelemetryKeys
from limits import Limiter, LimiterState
from schema.store import Store
from streams import Handler, Queue
from streams.worker import Worker

if TYPE_CHECKING:
    from engine.settings import Settings

log = structlog.get_logger()

TICK_MS = 250
REFRESH_MS = 500
SLOTS_SIMULATIONS_MAX = 4  # a daemon holds SIMCRM_CONCURRENCY jobs per simulation, for up to 4
PRESSURE_MS = 1_000
EXIT_MISCONFIGURED = 3  # the worker's settings cannot serve what the store holds


class MissingTokenSecret(Exception):
    """HubSpot tokens are stored and this worker has no TOKEN_ENC_SECRET to read them."""


async def cancel_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def due(now_ms: int, last_ms: int | None, every_ms: int) -> bool:
    """Whether a task run at ``last_ms`` (None: never) is due again at ``now_ms``; a clock that
    stepped back (the wall clock being corrected) makes it due rather than wait for the step."""
    return last_ms is None or not 0 <= now_ms - last_ms < every_ms


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        redis_url: str,
        database_url: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self._redis_url = redis_url
        self._database_url = database_url or settings.database.resolved_url()
        self.queue_config = settings.queue_config()
        self.clock: Clock = clock or SystemClock()
        self._stack = contextlib.AsyncExitStack()
        self._pressure = Pressure()  # the backlog's, for every simulation
        self._breakers_open: frozenset[str] = frozenset()  # accounts whose breaker is not closed
        self._stop = asyncio.Event()
        self.outages = Outages.create(self.clock)
        self.exit_code = 0
        self._flushing: asyncio.Task[None] | None = None
        self._misconfigured = False
        self.metrics: DaemonMetrics | None = None

    # -- set-up and tear-down -----------------------------------------------------------------

    async def __aenter__(self) -> Engine:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _open(self) -> None:
        settings = self.settings
        stack = self._stack
        self.store = await when_available(
            self.outages.database,
            lambda: stack.enter_async_context(
                Store.open(self._database_url, timeout_ms=settings.database.timeout_ms)
            ),
            DATABASE_AWAY,
            self._stop,
        )
        tokens = HubSpotTokens.from_settings(settings, self.store)
        if not tokens.can_decrypt and (stored := await tokens.stored_count()):
            raise MissingTokenSecret(
                f"TOKEN_ENC_SECRET is not set, and {stored} stored HubSpot token(s) need it to "
                "run hubspot simulations: give this worker the same TOKEN_ENC_SECRET as the API"
            )
        self.redis = await when_available(
            self.outages.redis,
            lambda: connect_redis(
                self._redis_url, **settings.redis.client_options(self._redis_url)
            ),
            REDIS_AWAY,
            self._stop,
        )
        stack.push_async_callback(self.redis.aclose)
        clock = self.clock
        self.limiter = Limiter(self.redis, settings.limits.config(), clock=clock)
        await self.limiter.load()
        hubspot = await stack.enter_async_context(
            HubSpotTransport.from_settings(settings, limiter=self.limiter, clock=clock)
        )
        sandbox = await stack.enter_async_context(
            HubSpotTransport.from_settings(
                settings, limiter=self.limiter, base_url=settings.runtime.sandbox_url, clock=clock
            )
        )
        self.portals = Portals(
            tokens,
            hubspot=hubspot,
            sandbox=sandbox,
            sandbox_token=settings.runtime.sandbox_token,
            clock=clock,
        )
        self.simulations = Simulations(self.store, tokens, portals=self.portals)
        self.registry = Registry(
            self.store,
            self.simulations,
            self.portals,
            key_prefix=settings.redis.key_prefix,
            clock=clock,
        )
        queue = Queue(
            self.redis,
            self.queue_config,
            policies=settings.retries.policies(),
            default_policy=settings.retries.default_policy,
            clock=clock,
            redis_health=self.outages.redis,
        )
        # Before anything touches a shard: the shard count must be the queue's (SPEC §4).
        self.membership = await queue.join("daemon")
        stack.push_async_callback(self.membership.leave)
        renewing = asyncio.create_task(self.membership.keep())
        stack.push_async_callback(cancel_task, renewing)
        self.queue = await stack.enter_async_context(queue)
        self.retention = Retention(
            self.redis,
            self.store,
            self.queue,
            key_prefix=settings.redis.key_prefix,
            retention_ms=settings.runtime.retention_ms,
            clock=clock,
        )
        scripts = Scripts(self.redis, lua_folder("engine.runtime"))
        await scripts.load()
        self.expander = Expander(
            self.redis,
            scripts,
            self.queue,
            settings.runtime.expansion(),
            clock=clock,
        )
        self.lifecycle = Lifecycle(
            self.redis, self.store, self.simulations, self.queue, self.expander
        )
        planner = Planner(
            self.redis,
            scripts,
            self.queue,
            pressure=self._pressure_on,
            clock=clock,
            thinning_events_max=settings.runtime.thinning_events_max,
        )
        context = HandlerContext(
            redis=self.redis,
            queue=self.queue,
            scripts=scripts,
            outcomes=Outcomes(self.queue.is_last_attempt, clock=clock),
            createdate=CreatedatePolicy(enabled=settings.hubspot.write_createdate),
            clock=clock,
            search_lag_ms=settings.hubspot.search_lag_ms,
            segment_ms=settings.runtime.segment_ms,
        )
        self.handlers = Handlers(
            context,
            registry=self.registry,
            planner=planner,
            misconfigured=self._token_secret_missing,
            redis_health=self.outages.redis,
        )
        table: Mapping[str, Handler] = self.handlers.table()
        if settings.observability.prometheus:
            telemetry = JobTelemetry(
                self.redis,
                settings.observability.buckets_ms,
                TelemetryKeys(settings.redis.key_prefix),
            )
            table = telemetry.instrument(table)
        seen = settings.observability
        if seen.metrics_port:
            self.metrics = DaemonMetrics(seen.buckets_ms, clock=clock)
            table = self.metrics.instrument(table)
            server = await self.metrics.serve(seen.metrics_host, seen.metrics_port)
            stack.callback(self.metrics.withdraw)
            stack.push_async_callback(server.close)
        self.worker: Worker = self.queue.worker(table)

    # -- running ------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop (safe from a signal handler); also ends a wait for Redis or
        the database at start (``__aenter__`` then raises StartAborted)."""
        self._stop.set()

    def _token_secret_missing(self, exc: NoTokenSecret) -> None:
        """A job needs a stored token this worker cannot read: stop, handing the work back."""
        if not self._misconfigured:
            self._misconfigured = True
            log.error("worker_misconfigured", variable="TOKEN_ENC_SECRET", error=str(exc))
        self.exit_code = EXIT_MISCONFIGURED
        self.request_stop()

    async def run(self) -> None:
        """Run until :meth:`request_stop`, then shut down gracefully."""
        await self.worker.start()
        log.info("engine_started", shards=self.queue_config.shards)
        refreshing = None
        if self.metrics is not None:
            refreshing = asyncio.create_task(
                self.metrics.refresh_loop(self.queue.stats, self._limiter_states, self._stop)
            )
        try:
            await self._control_loop()
        finally:
            if refreshing is not None:
                refreshing.cancel()
                await asyncio.gather(refreshing, return_exceptions=True)
            await self.worker.stop()
            self.handlers.stop()
            # Before the HubSpot sessions close: a request cut by closing its connection would
            # be reported to the limiter as a failure and count towards the account's breaker.
            await self.handlers.close()
            await self._last_flush()
            log.info("engine_stopped")

    async def run_until_signal(
        self, signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM)
    ) -> None:
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.run()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def _control_loop(self) -> None:
        """One pass per tick of the engine's clock until stopped: refresh, pressure, expansion,
        completion, and the counters' flush, each at its own cadence on the same clock."""
        last_refresh: int | None = None
        last_pressure: int | None = None
        last_flush: int | None = None
        last_sweep: int | None = None
        flush_every = self.settings.runtime.flush_interval_ms
        if not self.settings.observability.redis_progress:
            # Progress is read from the database only: keep it as fresh as live progress.
            flush_every = TICK_MS
        while not self._stop.is_set():
            now = self.clock.now_ms()
            try:
                if due(now, last_refresh, REFRESH_MS):
                    await self.registry.refresh()
                    self._size_slots()
                    self.outages.database.succeeded()
                    last_refresh = now
                if due(now, last_pressure, PRESSURE_MS):
                    await self._measure_pressure()
                    self.outages.redis.succeeded()
                    last_pressure = now
                if due(now, last_sweep, SWEEP_MS):
                    await self.retention.sweep()
                    last_sweep = now
            except Exception as exc:  # a failed pass is retried on the next tick
                self._pass_failed("control_pass_failed", exc)
            for sim in self.registry.active():
                try:  # one simulation's trouble must not hold up the others
                    await self.lifecycle.prepare(sim)
                    await self.expander.expand(sim)
                    await self.lifecycle.check_completed(sim)
                except Exception as exc:
                    self._pass_failed("simulation_pass_failed", exc, sim_id=sim.id)
            if due(now, last_flush, flush_every) and (
                self._flushing is None or self._flushing.done()
            ):
                # Beside the loop, not in it: a locked database holds up the flush only.
                self._flushing = asyncio.create_task(self._flush_all())
                last_flush = now
            await self._tick()

    def _pass_failed(self, event: str, exc: Exception, **fields: object) -> None:
        """Log a failed pass: an outage once (see core.outages), anything else in full."""
        if away(self.outages, exc) is None:
            log.error(event, error=type(exc).__name__, exc_info=exc, **fields)

    async def _tick(self) -> None:
        """Wait one tick of the clock, or less when a stop is requested."""
        stopping = asyncio.ensure_future(self._stop.wait())
        ticking = asyncio.ensure_future(self.clock.sleep_ms(TICK_MS))
        try:
            await asyncio.wait((stopping, ticking), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (stopping, ticking):
                waiter.cancel()

    def _size_slots(self) -> None:
        """Hold up to SIMCRM_CONCURRENCY jobs per running or paused simulation (counting at most
        SLOTS_SIMULATIONS_MAX of them): each simulation's batches gather their jobs in these
        slots, so one simulation's part-filled batches must not crowd out another's reads."""
        simulations = min(max(1, len(self.registry.active())), SLOTS_SIMULATIONS_MAX)
        self.worker.slots.resize(self.settings.queue.concurrency * simulations)

    async def _measure_pressure(self) -> None:
        stats = await self.queue.stats()
        backlog = sum(s.waiting + s.pending for shard in stats for s in shard.streams.values())
        opened: set[str] = set()
        for sim in self.registry.active():
            if sim.target is not None:
                state = await self.limiter.state(sim.target.portal_id)
                if state.breaker != "closed":
                    opened.add(sim.target.portal_id)
        self._breakers_open = frozenset(opened)
        self._pressure = Pressure.measure(backlog, self.settings.runtime.thinning_backlog_threshold)

    def _pressure_on(self, sim: Known) -> Pressure:
        """The pressure ``sim``'s planning is under: the backlog's, and its own account's open
        breaker — never another account's, whose failures are no reason to thin this one's work."""
        if sim.target is None or sim.target.portal_id not in self._breakers_open:
            return self._pressure
        threshold = self.settings.runtime.thinning_backlog_threshold
        return Pressure.measure(self._pressure.backlog, threshold, breaker_open=True)

    async def _limiter_states(self) -> list[LimiterState]:
        """The limiter state of every HubSpot account this daemon knows."""
        return [await self.limiter.state(portal) for portal in await self.portals.known()]

    async def _flush_all(self) -> None:
        """Raise every known simulation's durable counters to its live ones. A failure leaves
        the live counters in Redis for the next flush: nothing is lost, only later."""
        for sim in self.registry.known():
            try:
                await self.lifecycle.flush(sim)
            except Exception as exc:
                if away(self.outages, exc) is None:
                    log.warning("counters_flush_failed", sim_id=sim.id, error=type(exc).__name__)
            else:
                self.outages.redis.succeeded()
                self.outages.database.succeeded()

    async def _last_flush(self) -> None:
        """The flush at shutdown, after the one still running; each waits at most the database
        timeout (what is not flushed stays in Redis for another worker)."""
        bound = self.settings.database.timeout_ms / 1000 + 1.0
        if self._flushing is not None:
            await asyncio.wait([self._flushing], timeout=bound)
        try:
            await asyncio.wait_for(self._flush_all(), bound)
        except TimeoutError:
            log.warning("counters_flush_unfinished", waited_ms=round(bound * 1000))
