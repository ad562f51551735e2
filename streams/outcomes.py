"""What a handler says about each job it ran, and the failure categories dead letters carry.

A handler returns one outcome per job (``None`` from a per-job handler means :data:`ACK`):

- :data:`ACK` — done; the job leaves the queue.
- :class:`Retry` — the attempt failed; run it again as attempt + 1, after ``after_ms`` or, when
  that is ``None``, after the type's backoff. With no attempt left it becomes a dead letter with
  the retry's category and error.
- :class:`Defer` — not run (e.g. the rate limiter said wait); run it again after ``after_ms``
  with the same attempt number: deferring never spends an attempt.
- :class:`DeadLetter` — give up now, with a category and an error message.

Raising works too; see :mod:`streams.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Category(StrEnum):
    """Why a job failed (SPEC §4); dead letters are counted by category per scope."""

    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    VALIDATION = "validation"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    SERVER = "server"
    NETWORK = "network"
    STALLED = "stalled"
    UNKNOWN = "unknown"


MAX_ERROR_CHARS: Final = 500


@dataclass(frozen=True, slots=True)
class Ack:
    """The job is done."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Run again as the next attempt; ``after_ms=None`` uses the type's backoff."""

    after_ms: int | None = None
    category: Category = Category.UNKNOWN
    error: str = ""

    def __post_init__(self) -> None:
        if self.after_ms is not None and self.after_ms < 0:
            raise ValueError("Retry.after_ms must be zero or positive")


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

    category: Category
    error: str = ""


Outcome = Ack | Retry | Defer | DeadLetter
ACK: Final = Ack()


def clip_error(text: str) -> str:
    """Error text as stored: at most :data:`MAX_ERROR_CHARS` characters."""
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
