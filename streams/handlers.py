"""How a worker runs jobs: a handler per job type, per job or per batch.

- :class:`PerJob` runs one job at a time (many concurrently); its function returns an outcome,
  or ``None`` for :data:`~streams.outcomes.ACK`.
- :class:`Batched` receives up to ``max_batch`` ready jobs of its type at once (all of one read,
  same shard) and returns exactly one outcome per job, in order, so one upstream batch call can
  serve many jobs and each job is settled from its own item's result.

Exceptions steer the job(s) the handler was given: :class:`~streams.errors.RetryableJobError` →
retry (attempt + 1), :class:`~streams.errors.PermanentJobError` → dead letter, anything else →
retry with category ``unknown``. A batch handler's exception applies to every job of the batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from streams.errors import ConfigError, PermanentJobError, RetryableJobError
from streams.job import Job
from streams.outcomes import ACK, DeadLetter, Outcome, QueueCategory, Retry, clip_error

JobFunction = Callable[[Job], Awaitable[Outcome | None]]
BatchFunction = Callable[[Sequence[Job]], Awaitable[Sequence[Outcome]]]


@dataclass(frozen=True, slots=True)
class PerJob:
    """Run each job of the type on its own."""

    run: JobFunction


@dataclass(frozen=True, slots=True)
class Batched:
    """Run the type's ready jobs in groups of at most ``max_batch``."""

    run: BatchFunction
    max_batch: int = 100

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ConfigError("Batched.max_batch must be >= 1")


Handler = PerJob | Batched


def outcome_of_error(exc: Exception) -> Outcome:
    """The outcome a handler's exception stands for."""
    if isinstance(exc, RetryableJobError):
        return Retry(exc.after_ms, exc.category, clip_error(exc.message))
    if isinstance(exc, PermanentJobError):
        return DeadLetter(exc.category, clip_error(exc.message))
    return Retry(None, QueueCategory.UNKNOWN, clip_error(f"{type(exc).__name__}: {exc}"))


async def run_one(handler: PerJob, job: Job) -> Outcome:
    """Run a per-job handler and turn its result or exception into an outcome."""
    try:
        outcome = await handler.run(job)
    except Exception as exc:
        return outcome_of_error(exc)
    return ACK if outcome is None else outcome


async def run_batch(handler: Batched, jobs: Sequence[Job]) -> Sequence[Outcome]:
    """Run a batch handler; one outcome per job, or the handler's error for all of them."""
    try:
        outcomes = await handler.run(jobs)
    except Exception as exc:
        return [outcome_of_error(exc)] * len(jobs)
    if len(outcomes) != len(jobs):
        error = f"batch handler returned {len(outcomes)} outcomes for {len(jobs)} jobs"
        return [Retry(None, QueueCategory.UNKNOWN, error)] * len(jobs)
    return outcomes
