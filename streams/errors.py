"""Errors of the queue, and the exceptions handlers raise to steer a job.

Hierarchy::

    QueueError                      anything the queue itself refuses or cannot do
    ├── PayloadError                a job or dead letter that does not decode, or bad job fields
    ├── ConfigError                 a queue option out of range (the message names the option)
    │   └── ShardCountMismatch      this process's shard count is not the one stored in Redis
    ├── ReshardInProgress           the queue is being moved to another shard count
    └── ReshardRefused              a reshard cannot run now (processes still use the queue)

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


class ShardCountMismatch(ConfigError):
    """The shard count this process was given differs from the one the queue keeps in Redis."""

    def __init__(self, stored: int, configured: int, key: str) -> None:
        self.stored = stored
        self.configured = configured
        super().__init__(
            f"the queue has {stored} shard(s) (Redis key {key}) but this process was started with "
            f"{configured}: start every process with SIMCRM_QUEUE_SHARDS={stored} (or --shards "
            f"{stored}), or move the queue to {configured} shard(s) with `simcrm queue reshard "
            f"{configured}` while no daemon or API runs"
        )


class ReshardInProgress(QueueError):
    """A reshard started and has not finished: no process may use the queue until it has."""

    def __init__(self, source: int, target: int, key: str) -> None:
        self.source = source
        self.target = target
        super().__init__(
            f"the queue is being moved from {source} to {target} shard(s) (Redis key {key}); "
            f"wait for `simcrm queue reshard {target}` to finish, or run it again if it was "
            "interrupted"
        )


class ReshardRefused(QueueError):
    """A reshard cannot run now; the message says why and what to do."""
