"""One shard as seen by one worker: read, run, settle, renew claims, reclaim, hand back.

Reads go through the ``read`` script (primary stream first, the secondary one only for what the
primary could not fill); when both are empty the consumer blocks on both streams with
``XREADGROUP … BLOCK``. Jobs are grouped by type and run by their handler (one task per job, or
one per batch); outcomes are buffered and flushed by one settle loop, so one round trip settles
everything that finished meanwhile. Every job holds a worker slot from read to settlement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from redis.exceptions import RedisError, ResponseError
from structlog.contextvars import bind_contextvars

from streams.context import QueueContext
from streams.errors import PayloadError
from streams.handlers import Batched, Handler, run_batch, run_one
from streams.job import Priority, decode_job, log_fields
from streams.keys import GROUP, QueueKeys
from streams.outcomes import DeadLetter, Outcome, QueueCategory
from streams.settle import STREAM_ORDER, Delivery, SettleCounts, Settlements, dead_record
from streams.slots import Slots
from streams.tasks import raise_if_cancelling

log = structlog.get_logger("streams.consumer")

RETRY_PAUSE_S = 0.5
PENDING_PAGE = 1_000


def _field(fields: Any, name: str) -> Any:
    """One value of a stream entry's fields (a flat list, or a dict from redis-py)."""
    if isinstance(fields, dict):
        return fields.get(name.encode(), fields.get(name))
    for index in range(0, len(fields) - 1, 2):
        if fields[index] in (name.encode(), name):
            return fields[index + 1]
    return None


def _deliveries_of(fields: Any) -> int:
    """This read's delivery number: 1, plus the deliveries before a hand-back (field ``d``)."""
    before = _field(fields, "d")
    try:
        return 1 + max(0, int(before)) if before is not None else 1
    except ValueError:
        return 1


class ShardConsumer:
    """The work of one worker on one shard."""

    def __init__(
        self,
        shard: int,
        ctx: QueueContext,
        *,
        handlers: Mapping[str, Handler],
        settlements: Settlements,
        slots: Slots,
        consumer: str,
    ) -> None:
        self.shard = shard
        self._ctx = ctx
        self._handlers = handlers
        self._settlements = settlements
        self._slots = slots
        self.consumer = consumer
        self._streams = ctx.keys.streams(shard)
        # Keyed by (stream, entry id): the two streams of a shard can hand out the same id.
        self.in_flight: dict[tuple[Priority, Any], Delivery] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._settle_wanted = asyncio.Event()
        self._closing = False
        self._cursors = {priority: "0-0" for priority in STREAM_ORDER}
        self.totals = SettleCounts()
        self._log = log.bind(shard=shard)

    # -- reading ---------------------------------------------------------------------------

    async def read_once(self, *, block: bool, stopping: asyncio.Event | None = None) -> int:
        """Take free slots, read up to that many entries and start them; returns how many.

        With ``block`` and nothing to read, waits (holding no slot) up to ``block_ms`` for a new
        entry on either stream before returning 0.
        """
        wanted = await self._slots.take(self._ctx.config.read_count)
        if stopping is not None and stopping.is_set():
            self._slots.give_back(wanted)
            return 0
        got = 0
        try:
            reply = await self._ctx.scripts.run(
                "read", self._streams, [GROUP, self.consumer, wanted]
            )
            entries = [
                (priority, entry)
                for priority, items in zip(STREAM_ORDER, reply[:2], strict=True)
                for entry in items
            ]
            got = len(entries)
        finally:
            self._slots.give_back(wanted - got)
        if entries:
            self._start([(p, e[0], _field(e[1], "j"), _deliveries_of(e[1])) for p, e in entries])
        elif block:
            await self._wait_for_entries(reply[2], reply[3])
        return got

    async def _wait_for_entries(self, primary_last: Any, secondary_last: Any) -> None:
        """Block until either stream holds an entry newer than the group has delivered."""
        after = {}
        for stream, last in zip(self._streams, (primary_last, secondary_last), strict=True):
            after[stream] = last or "0-0"
        await self._ctx.client.xread(after, count=1, block=self._ctx.config.block_ms)

    async def read_loop(self, stopping: asyncio.Event) -> None:
        """Read and start jobs until ``stopping`` is set.

        The loop is never cancelled in the middle of a Redis command (that can leave the
        connection in an unknown state): it notices ``stopping`` after at most ``block_ms``.
        """
        while not stopping.is_set():
            try:
                await self.read_once(block=True, stopping=stopping)
            except ResponseError as exc:
                raise_if_cancelling()
                if "NOGROUP" in str(exc):
                    await ensure_groups(self._ctx.client, self._ctx.keys, [self.shard])
                    continue
                self._log.error("queue_read_failed", error=str(exc))
                await asyncio.sleep(RETRY_PAUSE_S)
            except (RedisError, OSError) as exc:
                raise_if_cancelling()
                self._ctx.trouble(self._log, "queue_read_failed", exc)
                await asyncio.sleep(RETRY_PAUSE_S)
            else:
                self._ctx.redis_health.succeeded()

    # -- running ---------------------------------------------------------------------------

    def _start(self, raw: Sequence[tuple[Priority, Any, Any, int]]) -> None:
        by_type: dict[str, list[Delivery]] = {}
        for priority, entry_id, payload, deliveries in raw:
            try:
                job = decode_job(payload) if payload is not None else None
            except PayloadError:
                job = None
            if job is None:
                self._log.error("job_payload_invalid", entry_id=str(entry_id))
                self._settlements.add_record(priority, ("a", entry_id, "", ""))
                continue
            delivery = Delivery(job, entry_id, priority, payload, deliveries)
            self.in_flight[priority, entry_id] = delivery
            if deliveries > self._ctx.config.max_deliveries:
                self._log.warning(
                    "job_stalled", job_id=job.id, scope=job.scope, deliveries=deliveries
                )
                error = f"delivered {deliveries - 1} times without being settled"
                delivery.settling = True
                self._settlements.add_record(
                    priority,
                    dead_record(delivery, QueueCategory.STALLED, error, self._ctx.clock.now_ms()),
                )
                continue
            by_type.setdefault(job.type, []).append(delivery)
        for job_type, deliveries_of_type in by_type.items():
            handler = self._handlers.get(job_type)
            if handler is None:
                outcome = DeadLetter(QueueCategory.UNKNOWN, f"no handler for job type {job_type!r}")
                for delivery in deliveries_of_type:
                    self._settlements.add(delivery, outcome)
            elif isinstance(handler, Batched):
                size = handler.max_batch
                for start in range(0, len(deliveries_of_type), size):
                    chunk = deliveries_of_type[start : start + size]
                    self._spawn(self._run_batch(handler, chunk))
            else:
                for delivery in deliveries_of_type:
                    self._spawn(self._run_one(handler, delivery))
        if len(self._settlements):
            self._settle_wanted.set()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run_one(self, handler: Any, delivery: Delivery) -> None:
        # Every line logged while the job runs carries these (each job runs in its own task).
        job = delivery.job
        bind_contextvars(shard=self.shard, job_type=job.type, scope=job.scope, job_id=job.id)
        self._settle(delivery, await run_one(handler, job))

    async def _run_batch(self, handler: Batched, chunk: list[Delivery]) -> None:
        jobs = [delivery.job for delivery in chunk]
        bind_contextvars(shard=self.shard, job_type=jobs[0].type, **log_fields(jobs))
        outcomes = await run_batch(handler, jobs)
        for delivery, outcome in zip(chunk, outcomes, strict=True):
            self._settle(delivery, outcome)

    def _settle(self, delivery: Delivery, outcome: Outcome) -> None:
        self._settlements.add(delivery, outcome)
        self._settle_wanted.set()

    # -- settling --------------------------------------------------------------------------

    async def settle_loop(self) -> None:
        """Flush buffered settlements whenever there are some, until :meth:`stop_settling`."""
        while not self._closing:
            await self._settle_wanted.wait()
            self._settle_wanted.clear()
            await self.flush()

    def stop_settling(self) -> None:
        """Let :meth:`settle_loop` finish its current flush and return."""
        self._closing = True
        self._settle_wanted.set()

    async def flush(self) -> None:
        """Send everything buffered; on a Redis error keep trying (the entries stay pending)."""
        batches = self._settlements.take()
        if not batches:
            return
        while True:
            try:
                counts = await self._settlements.send(batches)
                break
            except (RedisError, OSError) as exc:
                raise_if_cancelling()
                self._ctx.trouble(self._log, "queue_settle_failed", exc)
                await asyncio.sleep(RETRY_PAUSE_S)
        self._ctx.redis_health.succeeded()
        self.totals = self.totals + counts
        settled = 0
        for priority, records in batches:
            settled += len(records)
            for record in records:
                self.in_flight.pop((priority, record[1]), None)
        self._slots.give_back(settled)

    # -- claims ----------------------------------------------------------------------------

    async def heartbeat(self) -> None:
        """Renew the claim on every entry this consumer holds; log the ones it lost.

        An entry settled while its renewal was on the way also comes back as not owned; only
        those this consumer still runs were really taken (reclaimed by another consumer)."""
        for priority, stream in zip(STREAM_ORDER, self._streams, strict=True):
            ids = [
                d.entry_id
                for d in list(self.in_flight.values())
                if d.priority is priority and not d.settling
            ]
            for start in range(0, len(ids), PENDING_PAGE):
                lost = await self._ctx.scripts.run(
                    "heartbeat",
                    [stream],
                    [GROUP, self.consumer, *ids[start : start + PENDING_PAGE]],
                )
                # The script returns the ids it was given, so they compare equal to the keys of
                # in_flight (bytes, or str on a client that decodes responses).
                taken = [
                    entry
                    for entry in lost
                    if (d := self.in_flight.get((priority, entry))) is not None and not d.settling
                ]
                if taken:
                    self._log.warning("job_claim_lost", entries=len(taken), stream=priority.value)

    async def reclaim(self) -> int:
        """Take over entries idle past the visibility timeout (as many as free slots allow)."""
        total = 0
        for priority, stream in zip(STREAM_ORDER, self._streams, strict=True):
            if self._slots.free <= 0:
                break
            room = await self._slots.take(self._ctx.config.read_count)
            claimed: list[Any] = []
            try:
                cursor, claimed, lost = await self._ctx.scripts.run(
                    "reclaim",
                    [stream],
                    [
                        GROUP,
                        self.consumer,
                        self._ctx.config.visibility_ms,
                        self._cursors[priority],
                        room,
                    ],
                )
                self._cursors[priority] = cursor
            finally:
                self._slots.give_back(room - len(claimed))
            if lost:
                self._log.error("job_entries_lost", entries=len(lost), stream=priority.value)
            if claimed:
                self._log.info("jobs_reclaimed", count=len(claimed), stream=priority.value)
                self._start(
                    [(priority, item[0], item[1] or None, int(item[2])) for item in claimed]
                )
            total += len(claimed)
        return total

    async def release(self) -> int:
        """Hand every entry still pending for this consumer back to the group, as new entries
        that any consumer's next read takes at once, without counting the interrupted delivery.
        Used at shutdown."""
        released = 0
        for stream in self._streams:
            while True:
                pending = await self._ctx.client.xpending_range(
                    stream, GROUP, min="-", max="+", count=PENDING_PAGE, consumername=self.consumer
                )
                ids = [item["message_id"] for item in pending]
                if not ids:
                    break
                released += int(
                    await self._ctx.scripts.run(
                        "release",
                        [stream],
                        [GROUP, self.consumer, *ids],
                    )
                )
                if len(ids) < PENDING_PAGE:
                    break
        self.in_flight.clear()
        return released

    async def forget_idle_consumers(self) -> int:
        """Remove consumers with nothing pending that have been idle past ``consumer_gc_ms``."""
        removed = 0
        for stream in self._streams:
            for info in await self._ctx.client.xinfo_consumers(stream, GROUP):
                name = info.get("name")
                if name in (self.consumer, self.consumer.encode()):
                    continue
                if (
                    int(info.get("pending", 0)) == 0
                    and int(info.get("idle", 0)) > self._ctx.config.consumer_gc_ms
                ):
                    removed += int(await self._ctx.client.xgroup_delconsumer(stream, GROUP, name))
        return removed


async def ensure_groups(client: Any, keys: QueueKeys, shards: Sequence[int]) -> None:
    """Create the consumer group on every ready stream of ``shards``; existing ones are kept."""
    for shard in shards:
        for stream in keys.streams(shard):
            try:
                await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
