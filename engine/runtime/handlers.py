"""The job handlers: the frame every type shares, and contacts.

The queue hands each handler the ready jobs of its type from one read. They are split by
simulation (so by CRM account), merged with other reads' jobs of the same simulation and type into
batches of up to 100 (:mod:`.coalesce`), checked against the simulation's status (paused →
deferred, cancelled → skipped), sent as one batch call, and settled one by one from their own
item's result. A call the rate limiter refuses for a moment (its window or bucket is full) is held
in the process and its jobs join the next batch of their kind (for up to ``HOLD_MAX_MS``), so
the request, when it comes, goes to a fuller batch and nothing goes back through the queue.
Contacts and activities are created by :mod:`.creates` (exactly once, whatever answers get lost);
once a record's contact is recorded in ``{s<id>}:ids`` its activities are planned
(:mod:`.planning`). Progressions are applied by :mod:`.updates`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import cast

import structlog
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ClusterDownError,
    ReadOnlyError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from structlog.contextvars import bind_contextvars, unbind_contextvars

from core.outages import Dependency
from engine.crm import CrmError, ErrorCategory, Throttled, UnusableProperty
from engine.model import ActivityType
from engine.runtime.coalesce import Coalescer, Hold
from engine.runtime.context import HandlerContext, mark_absent
from engine.runtime.creates import Creates
from engine.runtime.jobs import CONTACT, index_of, sim_of
from engine.runtime.outcomes import Tally
from engine.runtime.planning import Planner
from engine.runtime.registry import Known, Registry
from engine.runtime.release import release
from engine.runtime.segment_counts import increments
from engine.runtime.updates import UPDATED_TYPES, Updates
from engine.simulations import NoTokenSecret, Target, TargetUnavailable
from limits import Reason
from limits.config import MAX_BATCH
from schema.simulations import SimulationStatus
from streams import Batched, Defer, Job, Outcome, log_fields
from streams.tasks import raise_if_cancelling

log = structlog.get_logger()

LINGER_MS = 100  # how long a part-filled batch waits for more jobs of its kind
SATURATED_MIN_FILL = 100  # while the limiter refuses a simulation's calls, only full batches go …
MAX_WAIT_MS = 10_000  # … or those that waited this long
SATURATED_FOR_MS = 3_000  # "refusing" means: refused a call this recently
# A batch the limiter refuses for a moment (its window, bucket or share is full) waits in the
# process and then joins the batch of its kind being gathered, rather than going back through the
# queue: for at most HOLD_MAX_MS from its first refusal, and at most HOLD_MAX_JOBS jobs of one
# simulation and type at once (two calls' worth: what can go as soon as the window has room);
# beyond that, its jobs are deferred as any refused call's are.
HOLD_REASONS = frozenset({Reason.WINDOW, Reason.BUCKET, Reason.SHARE})
HOLD_MAX_MS = 30_000
HOLD_MAX_JOBS = 4 * MAX_BATCH
PAUSED_RECHECK_MS = 1_000
REDIS_RECHECK_MS = 1_000  # how long jobs wait after Redis failed under them
# Redis being away (down, restarting, loading, failing over), as opposed to refusing us: bad
# credentials are a configuration error and fail the jobs like any other error.
REDIS_AWAY = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    TryAgainError,
    ClusterDownError,
)
REDIS_REFUSING = (AuthenticationError, AuthorizationError)

Send = Callable[[Known, Target, Sequence[Job], Tally], Awaitable[list[Outcome]]]


class Handlers:
    """One batch handler per job type, sharing the registry, planner and outcome rules."""

    def __init__(
        self,
        context: HandlerContext,
        *,
        registry: Registry,
        planner: Planner,
        misconfigured: Callable[[NoTokenSecret], None] = lambda exc: None,
        redis_health: Dependency | None = None,
    ) -> None:
        self._ctx = context
        self._redis_health = redis_health or Dependency("redis", context.clock)
        self._misconfigured = misconfigured
        self._registry = registry
        self._planner = planner
        self._stopped = False
        self._creates = Creates(context, on_recorded=self._plan)
        self._updates = Updates(context)
        self._coalescer: Coalescer[Job, Outcome] = Coalescer(
            linger_ms=LINGER_MS,
            size=MAX_BATCH,
            min_fill=self._min_fill,
            max_wait_ms=MAX_WAIT_MS,
            hold_max_ms=HOLD_MAX_MS,
            hold_max_items=HOLD_MAX_JOBS,
            expired=self._held_too_long,
        )

    async def close(self) -> None:
        """Cut the batch calls still in flight (shutdown, after the worker stopped): their
        requests end cancelled — by us, not failed by HubSpot — and their jobs were handed back."""
        await self._coalescer.close()

    def _held_too_long(self, jobs: list[Job], wait_ms: int) -> list[Outcome]:
        """Jobs whose batch the limiter kept refusing (or too many held): back to the queue
        until ``wait_ms``."""
        return [self._ctx.outcomes.defer(wait_ms) for _ in jobs]

    def _min_fill(self, key: Hashable) -> int:
        """How full a lingering batch must be to go: full while its simulation's calls are being
        refused (each request is scarce then, and a part-filled call wastes one), else any size
        (latency matters more than fill while requests are plentiful)."""
        sim_id, _ = cast(tuple[int, str], key)
        since = self._ctx.outcomes.since_throttled_ms(sim_id)
        return SATURATED_MIN_FILL if since is not None and since < SATURATED_FOR_MS else 1

    def stop(self) -> None:
        """The worker has stopped and handed back every job it still held: from now on a job
        that ends counts nothing (its next delivery will)."""
        self._stopped = True

    def table(self) -> dict[str, Batched]:
        """The queue's handler table: contacts, and every activity type."""
        contacts: Send = functools.partial(self._creates.send, CONTACT)
        table = {CONTACT: Batched(functools.partial(self._run, contacts))}
        for kind in ActivityType:
            send: Send = (
                functools.partial(self._updates.send, kind)
                if kind in UPDATED_TYPES
                else functools.partial(self._creates.send, kind.value)
            )
            table[kind.value] = Batched(functools.partial(self._run, send))
        return table

    # -- the common frame -------------------------------------------------------------------

    async def _run(self, send: Send, jobs: Sequence[Job]) -> list[Outcome]:
        """Split a read's jobs by simulation; each part joins that simulation's next batch."""
        outcomes: list[Outcome | None] = [None] * len(jobs)
        by_sim: dict[int, list[int]] = {}
        for position, job in enumerate(jobs):
            by_sim.setdefault(sim_of(job), []).append(position)
        if len(by_sim) == 1:  # the rest of this read's work, settling included, is this one's
            bind_contextvars(sim_id=next(iter(by_sim)))

        async def part(sim_id: int, positions: list[int]) -> None:
            batch = [jobs[p] for p in positions]
            results = await self._coalescer.submit(
                (sim_id, batch[0].type), batch, functools.partial(self._process, sim_id, send)
            )
            for position, outcome in zip(positions, results, strict=True):
                outcomes[position] = outcome

        await asyncio.gather(*(part(sim_id, positions) for sim_id, positions in by_sim.items()))
        missing = [position for position, outcome in enumerate(outcomes) if outcome is None]
        if missing:
            raise RuntimeError(f"no outcome for jobs at {missing}")
        return [outcome for outcome in outcomes if outcome is not None]

    async def _process(self, sim_id: int, send: Send, jobs: list[Job]) -> list[Outcome]:
        """One batch call for jobs of one simulation and type; its counts land in the live
        metrics and its dead jobs' objects are marked absent, in one round trip.

        Losing Redis midway (a restart, a failover, a dropped connection) is not the jobs'
        failure: they come back after a pause without spending an attempt, for as long as Redis
        stays away (the outage is logged once, when it starts). Whatever the batch
        already did is found again then — recorded ids, uncertain marks, unique keys — so an
        object created just before Redis went away is recorded, not created twice, and its job
        is not dead-lettered for an outage.
        """
        # A batch is sent from a task of its own (it may gather jobs of several reads): what
        # it logs names its simulation and its jobs.
        unbind_contextvars("job_id", "job_ids")
        bind_contextvars(sim_id=sim_id, job_type=jobs[0].type, **log_fields(jobs))
        try:
            return await self._process_once(sim_id, send, jobs)
        except REDIS_REFUSING:
            raise
        except REDIS_AWAY as exc:
            self._redis_health.failed(exc)
            return [Defer(REDIS_RECHECK_MS) for _ in jobs]

    async def _process_once(self, sim_id: int, send: Send, jobs: list[Job]) -> list[Outcome]:
        tally = Tally()
        known = await self._registry.get(sim_id)
        outcomes = await self._for_simulation(known, jobs, tally, send)
        # A job still running once its worker has stopped was handed back to the queue; its call
        # fails as the connections close, which is no failure of the job: nothing is counted.
        raise_if_cancelling()
        if self._stopped:
            raise asyncio.CancelledError
        if known is not None and (tally.counts or tally.dead):
            pipe = self._ctx.redis.pipeline(transaction=False)
            for name, count in tally.counts.items():
                pipe.hincrby(known.keys.metrics, name, count)
            per_segment = increments(
                known.model,
                self._ctx.segment_ms,
                settled=tally.settled_records,
                created=tally.created,
            )
            for name, count in per_segment.items():
                pipe.hincrby(known.keys.segments, name, count)
            mark_absent(pipe, known.keys.ids, [job.id for job in tally.dead])
            await pipe.execute()
            # What waited for the dead jobs' objects goes without them now, not at its fallback.
            await release(self._ctx.queue, known, tally.dead)
        return outcomes

    async def _for_simulation(
        self, known: Known | None, jobs: Sequence[Job], tally: Tally, send: Send
    ) -> list[Outcome]:
        outcomes = self._ctx.outcomes
        if known is None or known.status in (SimulationStatus.CANCELLED, SimulationStatus.DRAFT):
            if known is not None:  # what waits for these is skipped now too, not at its fallback
                await release(self._ctx.queue, known, jobs)
            return [outcomes.skipped(job, tally) for job in jobs]
        if known.status is SimulationStatus.PAUSED:
            return [Defer(PAUSED_RECHECK_MS) for _ in jobs]
        try:
            target = await self._registry.target(known)
            return await send(known, target, jobs, tally)
        except NoTokenSecret as exc:
            # This process cannot read the token; the simulation is fine. Its jobs go back
            # without spending an attempt, for a correctly configured worker to run.
            self._misconfigured(exc)
            return [Defer(PAUSED_RECHECK_MS) for _ in jobs]
        except (TargetUnavailable, UnusableProperty) as exc:
            await self._registry.fail(known, str(exc))
            category = exc.category if isinstance(exc, CrmError) else ErrorCategory.AUTH
            return [
                outcomes.failed(job, tally, category, str(exc), retryable=False) for job in jobs
            ]
        except Throttled as exc:
            if exc.reason in HOLD_REASONS and exc.wait_ms <= HOLD_MAX_MS:
                outcomes.throttled(known.id)
                raise Hold(exc.wait_ms) from None
            return [outcomes.of_error(job, tally, exc) for job in jobs]
        except CrmError as exc:
            return [outcomes.of_error(job, tally, exc) for job in jobs]

    # -- contacts --------------------------------------------------------------------------

    async def _plan(self, known: Known, jobs: Sequence[Job]) -> None:
        """Plan the activities of records whose contact is recorded (at most once each)."""
        await self._planner.plan(known, [index_of(job) for job in jobs])
