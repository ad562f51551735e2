"""Per job type: how long handlers took (a histogram) and how jobs ended (a counter).

:meth:`JobTelemetry.instrument` wraps every handler of a queue's handler table; each call (one
job, or one batch) is timed on the monotonic clock and recorded with one pipelined round trip:
the bucket of its duration, the running sum and count, and one count per outcome (``ok``,
``retry``, ``deferred``, ``dead``). A job of a batch is charged the whole batch's time — that is
how long it waited for its answer. Recording never fails a job: a Redis error is logged and the
numbers of that call are lost.

Buckets are self-describing in the hash (their bounds are in the field names), so processes
configured with different PROM_DEFAULT_BUCKETS still produce a readable (if coarser) histogram.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from engine.telemetry.keys import TelemetryKeys
from streams import ACK, Batched, DeadLetter, Defer, Handler, Job, Outcome, PerJob, Retry

log = structlog.get_logger()


def outcome_name(outcome: Outcome | None) -> str:
    if outcome is None or outcome is ACK:
        return "ok"
    if isinstance(outcome, Retry):
        return "retry"
    if isinstance(outcome, Defer):
        return "deferred"
    if isinstance(outcome, DeadLetter):
        return "dead"
    return "ok"


def _bound_label(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else f"{bound:g}"


@dataclass(frozen=True, slots=True)
class TypeStats:
    """One job type: cumulative ``(bound_ms, count)`` buckets ending with +Inf, sum and count."""

    buckets: tuple[tuple[float, int], ...]
    sum_ms: float
    count: int
    outcomes: Mapping[str, int] = field(default_factory=dict)


JobStats = dict[str, TypeStats]

Recorder = Callable[[str, Sequence[Outcome], float], Awaitable[None]]
"""Told, after each handler call, the job type, one outcome per job, and the call's time in ms."""


def instrument(handlers: Mapping[str, Handler], record: Recorder) -> dict[str, Handler]:
    """The same handler table, each call (one job, or one batch) timed on the monotonic clock
    and handed to ``record``."""

    def wrap(job_type: str, handler: Handler) -> Handler:
        if isinstance(handler, Batched):
            inner_batch = handler.run

            async def run_batch(jobs: Sequence[Job]) -> Sequence[Outcome]:
                started = time.monotonic()
                outcomes = await inner_batch(jobs)
                await record(job_type, outcomes, (time.monotonic() - started) * 1000)
                return outcomes

            return Batched(run_batch, handler.max_batch)
        inner_one = handler.run

        async def run_one(job: Job) -> Outcome | None:
            started = time.monotonic()
            outcome = await inner_one(job)
            await record(job_type, [outcome or ACK], (time.monotonic() - started) * 1000)
            return outcome

        return PerJob(run_one)

    return {job_type: wrap(job_type, handler) for job_type, handler in handlers.items()}


class JobTelemetry:
    def __init__(self, redis: Any, buckets_ms: Sequence[float], keys: TelemetryKeys) -> None:
        self._redis = redis
        self._bounds = sorted(float(b) for b in buckets_ms)
        self._keys = keys

    def instrument(self, handlers: Mapping[str, Handler]) -> dict[str, Handler]:
        """The same handler table, each handler timed and its outcomes counted."""
        return instrument(handlers, self.record)

    async def record(self, job_type: str, outcomes: Sequence[Outcome], elapsed_ms: float) -> None:
        """Count ``outcomes`` (one per job) that each took ``elapsed_ms``."""
        if not outcomes:
            return
        n = len(outcomes)
        index = bisect.bisect_left(self._bounds, elapsed_ms)
        bound = self._bounds[index] if index < len(self._bounds) else math.inf
        key = self._keys.jobs
        pipe = self._redis.pipeline(transaction=False)
        pipe.hincrby(key, f"{job_type}:le:{_bound_label(bound)}", n)
        pipe.hincrbyfloat(key, f"{job_type}:sum_ms", round(elapsed_ms * n, 3))
        pipe.hincrby(key, f"{job_type}:count", n)
        for name, count in Counter(outcome_name(o) for o in outcomes).items():
            pipe.hincrby(key, f"{job_type}:out:{name}", count)
        try:
            await pipe.execute()
        except Exception as exc:
            log.warning("job_telemetry_lost", job_type=job_type, error=type(exc).__name__)

    async def read(self) -> JobStats:
        """Every job type's histogram and outcome counts."""
        raw = await self._redis.hgetall(self._keys.jobs)
        per_bucket: dict[str, dict[float, int]] = {}
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        outcomes: dict[str, dict[str, int]] = {}
        for key, value in raw.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            job_type, _, rest = name.partition(":")
            kind, _, label = rest.partition(":")
            if kind == "le":
                bound = math.inf if label == "+Inf" else float(label)
                per_bucket.setdefault(job_type, {})[bound] = int(value)
            elif kind == "out":
                outcomes.setdefault(job_type, {})[label] = int(value)
            elif kind == "sum_ms":
                sums[job_type] = float(value)
            elif kind == "count":
                counts[job_type] = int(value)
        stats: JobStats = {}
        for job_type in sorted(set(per_bucket) | set(outcomes) | set(counts)):
            bounds = sorted(set(self._bounds) | set(per_bucket.get(job_type, {})) | {math.inf})
            running = 0
            cumulative = []
            for bound in bounds:
                running += per_bucket.get(job_type, {}).get(bound, 0)
                cumulative.append((bound, running))
            stats[job_type] = TypeStats(
                tuple(cumulative),
                sums.get(job_type, 0.0),
                counts.get(job_type, 0),
                outcomes.get(job_type, {}),
            )
        return stats
