"""Errors of the queue, and the exceptions handlers raise to steer a job.

Hierarchy::

    QueueError                      anything the queue itself refuses or cannot do
    ├── PayloadError                a job or dead letter that does not decode, or bad job fields
    └── ConfigError                 a queue option out of range (the message names the option)

    JobError(category, message)     raised by a handler about the job it runs
    ├── RetryableJobError           try again (attempt + 1, with backoff, or ``after_ms``)
    └── PermanentJobError           no point retrying: dead-letter the job now

A Lua script the queue cannot read or load raises :class:`core.errors.ScriptError`.

Any other exception a handler raises is treated as ``RetryableJobError("unknown")``; the
category of a :class:`JobError` is the handler's own word (see :mod:`streams.outcomes`).
Messages never carry secrets: handlers must not put tokens in them.
"""

from __future__ import annotations

from streams.outcomes import check_category


class QueueError(Exception):
    """Base of the queue's own errors."""


class PayloadError(QueueError, ValueError):
    """A job that cannot be encoded or decoded; the message names the field."""


class ConfigError(QueueError, ValueError):
    """A queue option is out of range; the message names the option."""


class JobError(Exception):
    """Raised by a handler: the job failed for a reason of ``category``."""

    def __init__(self, category: str, message: str = "") -> None:
        self.category = check_category(category)
        self.message = message or self.category
        super().__init__(self.message)


class RetryableJobError(JobError):
    """The job may succeed later: retry it, after ``after_ms`` or the type's backoff."""

    def __init__(self, category: str, message: str = "", *, after_ms: int | None = None) -> None:
        super().__init__(category, message)
        self.after_ms = after_ms


class PermanentJobError(JobError):
    """Retrying cannot help (the input is wrong, access was revoked …): dead-letter the job now."""
