"""What a handler says about each job it ran, and the category a failure carries.

A handler returns one outcome per job (``None`` from a per-job handler means :data:`ACK`):

- :data:`ACK` — done; the job leaves the queue.
- :class:`Retry` — the attempt failed; run it again as attempt + 1, after ``after_ms`` or, when
  that is ``None``, after the type's backoff. With no attempt left it becomes a dead letter with
  the retry's category and error.
- :class:`Defer` — not run (e.g. the rate limiter said wait); run it again after ``after_ms``
  with the same attempt number: deferring never spends an attempt.
- :class:`DeadLetter` — give up now, with a category and an error message.

Raising works too; see :mod:`streams.errors`.

A category says why a job failed. It is the handler's word — a short snake_case name of its own
choosing (:func:`check_category`) — and the queue stores it as given, counts dead letters by it
per scope, and selects by it on replay and purge. The queue names only the failures it sees
itself (:class:`QueueCategory`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_ERROR_CHARS: Final = 500
MAX_CATEGORY_CHARS: Final = 32
_CATEGORY = re.compile(rf"[a-z][a-z0-9_]{{0,{MAX_CATEGORY_CHARS - 1}}}")


class QueueCategory(StrEnum):
    """The categories the queue gives on its own."""

    STALLED = "stalled"
    """Delivered more than ``max_deliveries`` times without being settled: the reaper gives up."""
    UNKNOWN = "unknown"
    """A failure nobody classified: a handler raised something else than a
    :class:`~streams.errors.JobError`, a batch handler returned the wrong number of outcomes,
    or no handler exists for the job's type."""


def check_category(category: str) -> str:
    """``category`` as a plain string, if it is a lower-case snake_case word of at most
    :data:`MAX_CATEGORY_CHARS` characters starting with a letter; else ValueError."""
    text = str(category)
    if not _CATEGORY.fullmatch(text):
        raise ValueError(
            f"a category is a snake_case word of at most {MAX_CATEGORY_CHARS} characters, "
            f"not {text!r}"
        )
    return text


@dataclass(frozen=True, slots=True)
class Ack:
    """The job is done."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Run again as the next attempt; ``after_ms=None`` uses the type's backoff."""

    after_ms: int | None = None
    category: str = QueueCategory.UNKNOWN
    error: str = ""

    def __post_init__(self) -> None:
        if self.after_ms is not None and self.after_ms < 0:
            raise ValueError("Retry.after_ms must be zero or positive")
        check_category(self.category)


@dataclass(frozen=True, slots=True)
class Defer:
    """Run again after ``after_ms`` without spending an attempt."""

    after_ms: int

    def __post_init__(self) -> None:
        if self.after_ms < 0:
            raise ValueError("Defer.after_ms must be zero or positive")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Give up: move the job to the dead-letter stream."""

    category: str
    error: str = ""

    def __post_init__(self) -> None:
        check_category(self.category)


Outcome = Ack | Retry | Defer | DeadLetter
ACK: Final = Ack()


def clip_error(text: str) -> str:
    """Error text as stored: at most :data:`MAX_ERROR_CHARS` characters."""
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
