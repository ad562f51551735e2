"""Every Redis key the queue uses, built in one place.

All keys of shard ``k`` carry the hash tag ``{q<k>}``, so every script touching one shard's keys
runs on one Cluster slot. A scope always maps to one shard, so its dead-letter keys carry that
shard's tag too. With the prefix ``simcrm`` (the default), shard 3 holds::

    simcrm:{q3}:ready:primary        stream   jobs ready now, read first (group "workers")
    simcrm:{q3}:ready:secondary      stream   jobs ready now, read when primary has none
    simcrm:{q3}:delayed              zset     "<class><job>" scored by due epoch ms
    simcrm:{q3}:ids:<b>              hash     live job ids (ready, delayed or running) whose
                                              crc32(id) % 1024 is b, each mapped to ""
    simcrm:{q3}:live                 hash     scope -> how many of its jobs are live
    simcrm:{q3}:dead                 stream   dead letters of every scope on the shard
    simcrm:{q3}:dead:scopes          hash     scope -> dead letters it has in the stream
    simcrm:{q3}:dead:counts:<scope>  hash     category -> dead letters of the scope
    simcrm:{q3}:dead:samples:<scope> list     newest dead-letter summaries of the scope (capped)

    simcrm:{q3}:moved                hash     "<old shard>:<entry id>" of dead letters moved here
                                              by an unfinished reshard (gone once it finishes)

Beside the shards, three keys describe the queue as a whole (no hash tag; no script uses them)::

    simcrm:queue:shards              string   the shard count, set by the first process (SET NX)
    simcrm:queue:members             zset     processes using the queue ("<kind>:<host>:<pid>:<n>")
                                              scored by when their registration lapses (Redis ms)
    simcrm:queue:reshard             string   "<from>:<to>" while a reshard runs or was interrupted

Scripts receive these names as KEYS; none is assembled inside Lua. Live ids are spread over 1024
small hashes per shard because Redis stores a small hash compactly: about 20 bytes per id instead
of about 70 in one big set. The bucket count is fixed like the shard count.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from streams.errors import ConfigError
from streams.job import Priority
from streams.sharding import shard_for

GROUP = "workers"
ID_BUCKETS = 1024
MAX_SHARDS = 1024


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """Key names for a queue of ``shards`` shards under ``prefix`` (the queue's configured one)."""

    shards: int
    prefix: str

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= MAX_SHARDS:
            raise ConfigError(f"shards must be from 1 to {MAX_SHARDS}")
        if not self.prefix or "{" in self.prefix or "}" in self.prefix:
            raise ConfigError("prefix must be non-empty and hold no braces")

    def shard_of(self, scope: str) -> int:
        return shard_for(scope, self.shards)

    def tag(self, shard: int) -> str:
        if not 0 <= shard < self.shards:
            raise ConfigError(f"shard must be from 0 to {self.shards - 1} (got {shard})")
        return f"{self.prefix}:{{q{shard}}}"

    def ready(self, shard: int, priority: Priority) -> str:
        return f"{self.tag(shard)}:ready:{priority.value}"

    def streams(self, shard: int) -> tuple[str, str]:
        """The shard's ready streams in reading order: primary, then secondary."""
        return self.ready(shard, Priority.PRIMARY), self.ready(shard, Priority.SECONDARY)

    def delayed(self, shard: int) -> str:
        return f"{self.tag(shard)}:delayed"

    def ids(self, shard: int, job_id: str) -> str:
        """The live-id bucket of ``job_id`` on ``shard``."""
        return f"{self.tag(shard)}:ids:{zlib.crc32(job_id.encode()) % ID_BUCKETS}"

    def ids_pattern(self, shard: int) -> str:
        """A SCAN pattern matching every live-id bucket of ``shard``."""
        return f"{self.tag(shard)}:ids:*"

    def live(self, shard: int) -> str:
        """Per-scope counts of live jobs: a scope with none left has nothing queued or running."""
        return f"{self.tag(shard)}:live"

    def dead(self, shard: int) -> str:
        return f"{self.tag(shard)}:dead"

    def dead_scopes(self, shard: int) -> str:
        return f"{self.tag(shard)}:dead:scopes"

    def dead_counts(self, scope: str) -> str:
        return f"{self.tag(self.shard_of(scope))}:dead:counts:{scope}"

    def dead_samples(self, scope: str) -> str:
        return f"{self.tag(self.shard_of(scope))}:dead:samples:{scope}"

    def samples_pattern(self, shard: int) -> str:
        """A SCAN pattern matching every scope's samples list on ``shard``."""
        return f"{self.tag(shard)}:dead:samples:*"

    def samples_on(self, shard: int, scope: str) -> str:
        """The samples list of ``scope`` on ``shard``, whichever shard the scope maps to now."""
        return f"{self.tag(shard)}:dead:samples:{scope}"

    def counts_on(self, shard: int, scope: str) -> str:
        """The dead-letter counts of ``scope`` on ``shard`` (as :meth:`samples_on`)."""
        return f"{self.tag(shard)}:dead:counts:{scope}"

    def moved(self, shard: int) -> str:
        return f"{self.tag(shard)}:moved"

    @property
    def shard_count(self) -> str:
        return f"{self.prefix}:queue:shards"

    @property
    def members(self) -> str:
        return f"{self.prefix}:queue:members"

    @property
    def reshard(self) -> str:
        return f"{self.prefix}:queue:reshard"
