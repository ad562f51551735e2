"""Turning outcomes into settlement records, and sending many of them in one round trip.

A record is computed when the outcome arrives (so due times use the clock at that moment) and
buffered; :meth:`Settlements.flush` sends everything buffered for a shard as one ``settle`` script
call per ready stream, pipelined. The script applies a record only if its entry was still
pending, so a flush retried after a lost reply changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from core.lua import KeyList, KeyOrArg
from streams.context import QueueContext
from streams.job import Job, Priority, delayed_member
from streams.keys import GROUP
from streams.outcomes import Ack, DeadLetter, Defer, Outcome, Retry
from streams.retry import RetryPolicy

DEFAULT_POLICY = RetryPolicy(attempts=3, backoff_ms=(1_000, 5_000))
STREAM_ORDER = (Priority.PRIMARY, Priority.SECONDARY)
MAX_RECORDS_PER_CALL = 500


class Delivery:
    """A job handed to this consumer: the decoded job, its stream entry and raw payload.

    ``settling`` is set once its outcome is buffered for settlement: from then on its claim is
    no longer renewed (the settle script may already have acknowledged it).
    """

    __slots__ = ("deliveries", "entry_id", "job", "payload", "priority", "settling")

    def __init__(
        self,
        job: Job,
        entry_id: bytes | str,
        priority: Priority,
        payload: bytes | str,
        deliveries: int = 1,
    ) -> None:
        self.job = job
        self.entry_id = entry_id
        self.priority = priority
        self.payload = payload
        self.deliveries = deliveries
        self.settling = False


@dataclass(frozen=True, slots=True)
class SettleCounts:
    acked: int = 0
    rescheduled: int = 0
    dead: int = 0
    stale: int = 0

    def __add__(self, other: SettleCounts) -> SettleCounts:
        return SettleCounts(
            self.acked + other.acked,
            self.rescheduled + other.rescheduled,
            self.dead + other.dead,
            self.stale + other.stale,
        )


# A record: ("a", entry, job_id, scope) | ("r", entry, due_ms, member) |
# ("d", entry, job_id, scope, category, error, attempts, payload, sample)
Record = tuple[Any, ...]


def dead_record(delivery: Delivery, category: str, error: str, now_ms: int) -> Record:
    job = delivery.job
    category = str(category)  # a StrEnum member is stored as its plain value
    sample = orjson.dumps(
        {
            "id": job.id,
            "type": job.type,
            "category": category,
            "error": error,
            "attempts": job.attempt,
            "failed_at": now_ms,
        }
    )
    return (
        "d",
        delivery.entry_id,
        job.id,
        job.scope,
        category,
        error,
        job.attempt,
        delivery.payload,
        sample,
    )


def record_for(delivery: Delivery, outcome: Outcome, policy: RetryPolicy, now_ms: int) -> Record:
    """The settlement record for ``outcome`` of ``delivery`` under the type's ``policy``."""
    job = delivery.job
    if isinstance(outcome, Ack):
        return ("a", delivery.entry_id, job.id, job.scope)
    if isinstance(outcome, Defer):
        member = delayed_member(job.priority, delivery.payload)
        return ("r", delivery.entry_id, now_ms + outcome.after_ms, member)
    if isinstance(outcome, Retry):
        if policy.is_last_attempt(job):
            return dead_record(delivery, outcome.category, outcome.error, now_ms)
        wait = outcome.after_ms
        if wait is None:
            wait = policy.delay_before_retry(job.attempt)
        member = delayed_member(job.priority, job.next_attempt().encode())
        return ("r", delivery.entry_id, now_ms + wait, member)
    if isinstance(outcome, DeadLetter):
        return dead_record(delivery, outcome.category, outcome.error, now_ms)
    raise TypeError(f"not an outcome: {outcome!r}")


class Settlements:
    """The records waiting to be sent for one shard, by ready stream."""

    def __init__(
        self,
        shard: int,
        ctx: QueueContext,
        policies: Mapping[str, RetryPolicy],
        default_policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self._shard = shard
        self._ctx = ctx
        self._policies = policies
        self._default_policy = default_policy
        self._buffers: dict[Priority, list[Record]] = {p: [] for p in STREAM_ORDER}

    def __len__(self) -> int:
        return sum(len(buffer) for buffer in self._buffers.values())

    def add(self, delivery: Delivery, outcome: Outcome) -> None:
        policy = self._policies.get(delivery.job.type, self._default_policy)
        record = record_for(delivery, outcome, policy, self._ctx.clock.now_ms())
        delivery.settling = True
        self._buffers[delivery.priority].append(record)

    def add_record(self, priority: Priority, record: Record) -> None:
        """Buffer a ready-made record (its entry id is ``record[1]``)."""
        self._buffers[priority].append(record)

    def take(self) -> list[tuple[Priority, list[Record]]]:
        """Everything buffered, emptying the buffers."""
        taken = [(p, buffer) for p, buffer in self._buffers.items() if buffer]
        self._buffers = {p: [] for p in STREAM_ORDER}
        return taken

    async def send(self, batches: list[tuple[Priority, list[Record]]]) -> SettleCounts:
        """Send taken records in one pipelined round trip; raises if Redis fails."""
        calls: list[tuple[str, list[str], list[KeyOrArg]]] = []
        for priority, items in batches:
            for start in range(0, len(items), MAX_RECORDS_PER_CALL):
                calls.append(self._call(priority, items[start : start + MAX_RECORDS_PER_CALL]))
        results = await self._ctx.scripts.run_many(calls)
        total = SettleCounts()
        for result in results:
            total = total + SettleCounts(*(int(n) for n in result))
        return total

    def _call(
        self, priority: Priority, records: list[Record]
    ) -> tuple[str, list[str], list[KeyOrArg]]:
        shard, keys = self._shard, self._ctx.keys
        script_keys = KeyList(
            [
                keys.ready(shard, priority),
                keys.delayed(shard),
                keys.dead(shard),
                keys.dead_scopes(shard),
                keys.live(shard),
            ]
        )
        args: list[KeyOrArg] = [GROUP, self._ctx.clock.now_ms(), self._ctx.config.dead_sample_max]
        for record in records:
            kind = record[0]
            if kind == "r":
                args.extend(record)
                continue
            entry_id, job_id = record[1], record[2]
            bucket = script_keys.index(keys.ids(shard, job_id))
            if kind == "a":
                entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                scope = record[3] if len(record) > 3 else ""
                args.append(f"a:{bucket}:{entry}:{len(scope.encode())}:{scope}{job_id}")
                continue
            scope = record[3]
            counts = script_keys.index(keys.dead_counts(scope))
            samples = script_keys.index(keys.dead_samples(scope))
            args.extend((kind, entry_id, bucket, job_id, counts, samples, *record[3:]))
        return "settle", script_keys.keys, args
