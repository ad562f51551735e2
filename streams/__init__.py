"""A reliable, sharded job queue on Redis Streams consumer groups. Knows nothing of CRMs.

The public surface::

    from streams import Queue, QueueConfig, Job, Priority, PerJob, Batched
    from streams import ACK, Retry, Defer, DeadLetter, QueueCategory
    from streams import RetryableJobError, PermanentJobError, RetryPolicy

Modules, one concept each: ``job`` (the wire payload), ``keys`` (every key name), ``producer``,
``mover`` (delayed jobs), ``consumer`` (one shard: read, run, settle, heartbeat, reclaim,
release), ``settle`` (outcomes to settlement records), ``worker`` (N shards in one process,
shutdown), ``deadletters`` (summary, replay, purge), ``stats`` (gauges), ``queue`` (the facade),
``errors``, ``outcomes``, ``handlers``, ``retry``, ``config``, ``sharding``. The Lua scripts are in
``lua/``, loaded by :mod:`core.lua`; time comes from a :class:`core.clock.Clock`.
"""

from streams.config import QueueConfig
from streams.deadletters import ReplayResult, ScopeDeadLetters
from streams.errors import (
    ConfigError,
    JobError,
    PayloadError,
    PermanentJobError,
    QueueError,
    RetryableJobError,
)
from streams.handlers import Batched, Handler, PerJob
from streams.job import Job, Priority, log_fields
from streams.outcomes import ACK, Ack, DeadLetter, Defer, Outcome, QueueCategory, Retry
from streams.queue import Queue
from streams.retry import RetryPolicy
from streams.sharding import fnv1a_32, shard_for
from streams.stats import ShardStats
from streams.worker import Worker

__all__ = [
    "ACK",
    "Ack",
    "Batched",
    "ConfigError",
    "DeadLetter",
    "Defer",
    "Handler",
    "Job",
    "JobError",
    "Outcome",
    "PayloadError",
    "PerJob",
    "PermanentJobError",
    "Priority",
    "Queue",
    "QueueCategory",
    "QueueConfig",
    "QueueError",
    "ReplayResult",
    "Retry",
    "RetryPolicy",
    "RetryableJobError",
    "ScopeDeadLetters",
    "ShardStats",
    "Worker",
    "fnv1a_32",
    "log_fields",
    "shard_for",
]
