"""How many times a job type is tried, and how long it waits between tries.

``RetryPolicy(attempts=3, backoff_ms=(0, 2000, 8000))`` means: run the job at most three times; the
first retry is due 0 ms after the first failure, the second retry 2000 ms after the second failure.
Entry ``k`` of ``backoff_ms`` (0-based) is the wait before retry ``k + 1``; a list shorter than
``attempts - 1`` repeats its last value, and entries past ``attempts - 1`` are never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streams.job import Job

MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts (1–10) and the backoff series of one job type."""

    attempts: int
    backoff_ms: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ValueError(f"attempts must be an integer from 1 to {MAX_ATTEMPTS}")
        if not self.backoff_ms:
            raise ValueError("backoff_ms must hold at least one delay")
        if any(delay < 0 for delay in self.backoff_ms):
            raise ValueError("backoff_ms delays must be zero or positive")

    def is_last_attempt(self, job: Job) -> bool:
        """Whether a failure of ``job`` now leaves it no attempt: its attempt has reached its own
        cap (a replayed job's ``max_attempts``), or this policy's ``attempts`` when it has none.

        The one rule for it: settling a :class:`~streams.outcomes.Retry` dead-letters the job
        exactly when this holds, and handlers that count failures ask the same
        (:meth:`streams.Queue.is_last_attempt`).
        """
        return job.attempt >= (job.max_attempts or self.attempts)

    def delay_before_retry(self, retry: int) -> int:
        """Milliseconds to wait before retry number ``retry`` (1 = the first retry)."""
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        return self.backoff_ms[min(retry, len(self.backoff_ms)) - 1]

    def padded_backoff(self) -> tuple[int, ...]:
        """The wait before each possible retry, exactly ``attempts - 1`` entries."""
        return tuple(self.delay_before_retry(k) for k in range(1, self.attempts))

    def single_attempt(self) -> RetryPolicy:
        """The same backoff with one attempt only (how a dead letter is replayed by default)."""
        return RetryPolicy(attempts=1, backoff_ms=self.backoff_ms)
