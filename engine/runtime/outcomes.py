"""From CRM results to queue outcomes, and the live metrics each outcome moves.

The CRM's failure categories (:class:`~engine.crm.ErrorCategory`) become the categories of the
queue's outcomes as they are; with the queue's own (:class:`~streams.QueueCategory`) they make
:class:`DeadLetterCategory`, every category a dead letter can carry (SPEC §4).

* created → ack and ``all:settled`` (the object itself is counted ``<type>:created`` once, when its
  id is first recorded: see :mod:`.context`); updated → ack, ``<type>:updated`` and
  ``all:settled``;
* a retryable failure → :class:`Retry` (the type's backoff, or HubSpot's Retry-After), counted as
  ``failed`` — except a 429, which is the account's pace and not the job's fault: it is counted
  ``rate_limited`` only; on the job's last attempt (as the queue decides it) it is a
  :class:`DeadLetter` instead, counted ``dead``;
* a permanent failure → :class:`DeadLetter` with its category, ``dead`` and ``all:settled``;
* a call whose answer was lost (a timeout, a connection lost after sending, a 5xx or 524) →
  :class:`Defer` without spending an attempt, counted as ``failed``: a create comes back once the
  search lag has passed, to look its object up first; an update or a look-up after a second;
* the limiter said wait → :class:`Defer` (no attempt spent, nothing counted), rounded up to the
  next quarter second so jobs refused around the same time come back together and go out as
  full batches again;
* the simulation was cancelled, or the object a step applies to will not exist → ack and
  ``skipped``.

Jobs dead-lettered here are listed in the :class:`Tally` so their objects can be marked absent
and their parked children released.
Completion does not rest on these counts but on the queue's exact live count per simulation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from enum import StrEnum

import structlog

from core.clock import Clock
from engine.crm import CrmError, ErrorCategory, ItemResult, NetworkError, RateLimited, Throttled
from engine.runtime.jobs import CONTACT, index_of, sim_of
from engine.runtime.metrics import Metric, field
from streams import ACK, DeadLetter, Defer, Job, Outcome, Retry
from streams.outcomes import clip_error

log = structlog.get_logger()

SETTLED = "all:settled"
DEFER_ALIGN_MS = 250
LOST_ANSWER_RETRY_MS = 1_000  # when a call whose answer was lost is tried again (not a create)


class DeadLetterCategory(StrEnum):
    """Every category a dead letter can carry: each :class:`~engine.crm.ErrorCategory`, and the
    queue's own :class:`~streams.QueueCategory` (``stalled``, ``unknown``). The API takes these,
    and only these, in a replay's ``categories`` and lists them in its catalog, in this order."""

    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    VALIDATION = "validation"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    SERVER = "server"
    NETWORK = "network"
    STALLED = "stalled"
    UNKNOWN = "unknown"


class Tally:
    """The metric increments of one batch, written in one round trip with its other writes, the
    ids of its jobs that failed for good (their objects are marked absent), and the indices of
    the records whose contact job settled (``created`` too when the contact exists), which the
    handlers count per segment."""

    __slots__ = ("counts", "created", "dead", "settled_records")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.dead: list[Job] = []
        self.settled_records: list[int] = []
        self.created: list[int] = []

    def add(self, kind: str, metric: Metric, n: int = 1) -> None:
        self.counts[field(kind, metric)] += n

    def settled(self, job: Job, *, created: bool = False) -> None:
        self.counts[SETTLED] += 1
        if job.type == CONTACT and "i" in job.data:
            index = index_of(job)
            self.settled_records.append(index)
            if created:
                self.created.append(index)


class Outcomes:
    """Turns results into outcomes for one job type, counting them in a :class:`Tally`."""

    def __init__(self, is_last_attempt: Callable[[Job], bool], *, clock: Clock) -> None:
        """``is_last_attempt`` is the queue's rule (:meth:`streams.Queue.is_last_attempt`)."""
        self._is_last_attempt = is_last_attempt
        self._clock = clock
        self._throttled: dict[int, int] = {}  # simulation → when the limiter last refused it

    def defer(self, wait_ms: int) -> Outcome:
        """Run again after at least ``wait_ms``, at the next quarter-second boundary."""
        now = self._clock.now_ms()
        due = now + max(1, wait_ms)
        return Defer(due + (-due % DEFER_ALIGN_MS) - now)

    def done(self, job: Job, tally: Tally) -> Outcome:
        """The job's object exists (its creation is counted where its id is recorded)."""
        tally.settled(job, created=True)
        return ACK

    def unanswered(self, job: Job, tally: Tally, wait_ms: int) -> Outcome:
        """The job's create went unanswered, so its object may exist: it comes back after
        ``wait_ms`` to look the object up, without spending an attempt (the lost answer was
        not the job's fault; the breaker stops a flood of them). Counted as ``failed``."""
        tally.add(job.type, Metric.FAILED)
        return self.defer(wait_ms)

    def updated(self, job: Job, tally: Tally) -> Outcome:
        tally.add(job.type, Metric.UPDATED)
        tally.settled(job)
        return ACK

    def skipped(self, job: Job, tally: Tally) -> Outcome:
        tally.add(job.type, Metric.SKIPPED)
        tally.settled(job)
        return ACK

    def failed(
        self,
        job: Job,
        tally: Tally,
        category: ErrorCategory,
        message: str,
        *,
        retryable: bool,
        after_ms: int | None = None,
    ) -> Outcome:
        """A failed attempt: retried while attempts last, else dead-lettered."""
        throttled = category is ErrorCategory.RATE_LIMIT
        if throttled:
            tally.add(job.type, Metric.RATE_LIMITED)
        if retryable and not self._is_last_attempt(job):
            if not throttled:
                tally.add(job.type, Metric.FAILED)
            log.debug("job_failed", job_id=job.id, attempt=job.attempt, category=category)
            return Retry(after_ms, category, clip_error(message))
        log.warning(
            "job_dead_lettered", job_id=job.id, attempt=job.attempt, category=category.value
        )
        tally.add(job.type, Metric.DEAD)
        tally.settled(job)
        tally.dead.append(job)
        return DeadLetter(category, clip_error(message))

    def of_item(self, job: Job, tally: Tally, item: ItemResult) -> Outcome:
        """The outcome of a failed item of a batch call."""
        category = item.category or ErrorCategory.UNKNOWN
        return self.failed(job, tally, category, item.message or "", retryable=item.retryable)

    def throttled(self, sim_id: int) -> None:
        """The limiter refused a call of simulation ``sim_id`` just now."""
        self._throttled[sim_id] = self._clock.now_ms()

    def since_throttled_ms(self, sim_id: int) -> int | None:
        """How long ago the limiter last refused a call of ``sim_id`` (None: never)."""
        at = self._throttled.get(sim_id)
        return None if at is None else self._clock.now_ms() - at

    def of_error(self, job: Job, tally: Tally, error: Exception) -> Outcome:
        """The outcome of a call that failed as a whole (or was not sent)."""
        if isinstance(error, Throttled):
            self.throttled(sim_of(job))
            return self.defer(error.wait_ms)
        if isinstance(error, CrmError) and error.maybe_applied:
            return self.unanswered(job, tally, LOST_ANSWER_RETRY_MS)
        if isinstance(error, CrmError):
            after = error.retry_after_ms if isinstance(error, RateLimited) else None
            retryable = error.retryable or (isinstance(error, NetworkError) and error.maybe_applied)
            return self.failed(
                job,
                tally,
                error.category,
                str(error),
                retryable=retryable,
                after_ms=after,
            )
        return self.failed(
            job, tally, ErrorCategory.UNKNOWN, f"{type(error).__name__}: {error}", retryable=True
        )
