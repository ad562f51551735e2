"""The queue's options, as one frozen value object with documented defaults.

The daemon builds it from its settings (``SIMCRM_QUEUE_SHARDS``, ``DLQ_SAMPLE_MAX``,
``DLQ_REPLAY_LIMIT_CAP`` …, whose defaults are the ones below); tests build it directly, usually
with short timeouts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from core.keys import DEFAULT_KEY_PREFIX
from streams.errors import ConfigError
from streams.keys import MAX_SHARDS

DEFAULT_SHARDS = 1
DEFAULT_READ_COUNT = 100
MAX_READ_COUNT = 10_000
DEFAULT_BLOCK_MS = 1_000
DEFAULT_CONCURRENCY = 100
DEFAULT_VISIBILITY_MS = 30_000
DEFAULT_HEARTBEAT_MS = 10_000
DEFAULT_MAX_DELIVERIES = 3
DEFAULT_REAPER_INTERVAL_MS = 5_000
DEFAULT_MOVER_INTERVAL_MS = 50
DEFAULT_MOVER_BATCH = 1_000
DEFAULT_ENQUEUE_CHUNK = 500
DEFAULT_GRACE_MS = 10_000
DEFAULT_DEAD_SAMPLE_MAX = 25
DEFAULT_REPLAY_LIMIT_CAP = 50
MAX_REPLAY_LIMIT_CAP = 100
DEFAULT_CONSUMER_GC_MS = 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """How the queue is laid out and paced.

    - ``shards``: number of shards; a scope lives on ``fnv1a_32(scope) % shards``. Fixed for the
      life of the data: drain the queue before changing it.
    - ``prefix``: the first part of every key (tests use a unique one per test).
    - ``read_count``: most entries one read asks for; ``block_ms``: how long an idle read blocks.
    - ``concurrency``: most jobs one worker process holds at once, over all its shards.
    - ``visibility_ms``: a delivered entry whose claim was not renewed for this long is reclaimed
      by a reaper; ``heartbeat_ms``: how often running entries renew their claim (at most a third
      of ``visibility_ms``, so a live job is never reclaimed).
    - ``max_deliveries``: an entry delivered this many times without being settled (its consumers
      kept dying) is dead-lettered as ``stalled`` when next reclaimed.
    - ``reaper_interval_ms``: how often each worker looks for idle entries.
    - ``mover_interval_ms``: longest sleep of the delayed mover between passes (it wakes earlier
      when the next job is due sooner); ``mover_batch``: most jobs one pass moves per shard.
    - ``enqueue_chunk``: most jobs per enqueue script call.
    - ``grace_ms``: on shutdown, how long in-flight jobs may run before they are handed back.
    - ``dead_sample_max``: dead-letter samples kept per scope (DLQ_SAMPLE_MAX).
    - ``replay_limit_cap``: most dead letters one replay moves (DLQ_REPLAY_LIMIT_CAP).
    - ``consumer_gc_ms``: consumers with nothing pending and idle this long are removed from the
      group by the reaper.
    """

    shards: int = DEFAULT_SHARDS
    prefix: str = DEFAULT_KEY_PREFIX
    read_count: int = DEFAULT_READ_COUNT
    block_ms: int = DEFAULT_BLOCK_MS
    concurrency: int = DEFAULT_CONCURRENCY
    visibility_ms: int = DEFAULT_VISIBILITY_MS
    heartbeat_ms: int = DEFAULT_HEARTBEAT_MS
    max_deliveries: int = DEFAULT_MAX_DELIVERIES
    reaper_interval_ms: int = DEFAULT_REAPER_INTERVAL_MS
    mover_interval_ms: int = DEFAULT_MOVER_INTERVAL_MS
    mover_batch: int = DEFAULT_MOVER_BATCH
    enqueue_chunk: int = DEFAULT_ENQUEUE_CHUNK
    grace_ms: int = DEFAULT_GRACE_MS
    dead_sample_max: int = DEFAULT_DEAD_SAMPLE_MAX
    replay_limit_cap: int = DEFAULT_REPLAY_LIMIT_CAP
    consumer_gc_ms: int = DEFAULT_CONSUMER_GC_MS

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "prefix":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{item.name} must be an integer")
            low = 0 if item.name == "grace_ms" else 1
            if value < low:
                raise ConfigError(f"{item.name} must be >= {low} (got {value})")
        if not 1 <= self.shards <= MAX_SHARDS:
            raise ConfigError(f"shards must be from 1 to {MAX_SHARDS} (got {self.shards})")
        if self.heartbeat_ms * 3 > self.visibility_ms:
            raise ConfigError("heartbeat_ms must be at most a third of visibility_ms")
        if not 1 <= self.replay_limit_cap <= MAX_REPLAY_LIMIT_CAP:
            raise ConfigError(f"replay_limit_cap must be from 1 to {MAX_REPLAY_LIMIT_CAP}")
        if (
            self.read_count > MAX_READ_COUNT
            or self.enqueue_chunk > 5_000
            or self.mover_batch > 5_000
        ):
            raise ConfigError("read_count, enqueue_chunk and mover_batch must stay <= 10000/5000")
