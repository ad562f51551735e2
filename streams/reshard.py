"""Moving the queue to another shard count, with every job and dead letter kept exactly once.

``simcrm queue reshard N`` runs :func:`reshard`. It refuses while any process is registered as
using the queue (:mod:`streams.members`): a daemon would go on reading the old shards, an API
would go on enqueuing replays on them. With nobody else on the queue it moves, shard by shard,
everything whose scope maps to another shard under the new count:

* ready jobs, including those a consumer that died still held (pending entries): they are ready
  again on the new shard, as a reclaim would have made them;
* delayed jobs, with their due time;
* dead letters, with their category counts, and each scope's samples list.

Each job is added on its new shard before it is withdrawn from the old one; the new shard's
live-id set refuses a second copy, so a move interrupted between the two steps and run again
neither loses nor doubles a job. Dead letters carry a marker (old shard and entry id) on their new
shard for the same purpose. The target is written to :attr:`QueueKeys.reshard` first, and no
process starts while it is there; an interrupted reshard is finished by running it again with the
same count. The new count is stored last, then the markers are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from core.clock import ManualClock
from core.lua import Scripts, lua_folder
from streams.config import QueueConfig
from streams.consumer import ensure_groups
from streams.context import QueueContext
from streams.errors import ReshardRefused
from streams.job import Priority, decode_job
from streams.keys import GROUP, QueueKeys
from streams.members import live_members
from streams.producer import Producer
from streams.shardcount import reshard_underway, stored_shard_count

log = structlog.get_logger()

PAGE = 500


@dataclass(frozen=True, slots=True)
class ReshardResult:
    """What a reshard moved (counts of items that changed shard)."""

    source: int
    target: int
    ready: int = 0
    delayed: int = 0
    dead: int = 0

    @property
    def moved(self) -> int:
        return self.ready + self.delayed + self.dead


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class _Mover:
    """One reshard's work: old and new key layouts over one client."""

    def __init__(self, client: Any, config: QueueConfig, source: int, target: int) -> None:
        self.client = client
        self.old = QueueKeys(source, config.prefix)
        self.new = QueueKeys(target, config.prefix)
        self.span = max(source, target)  # shards that may hold anything, mid-move included
        self.any = QueueKeys(self.span, config.prefix)
        self.scripts = Scripts(client, lua_folder("streams"))
        # Time decides nothing here: at "now" = 0 a delayed job (due > 0) stays delayed for the
        # mover to promote when due, a ready one (due now) stays ready.
        context = QueueContext(client, self.new, self.scripts, config, ManualClock(0))
        self.producer = Producer(context)
        self.counts = {"ready": 0, "delayed": 0, "dead": 0}

    async def run(self) -> None:
        await self.scripts.load()
        for shard in range(self.span):
            for priority in Priority:
                await self._ready(shard, self.any.ready(shard, priority))
            await self._delayed(shard)
            await self._dead(shard)
            await self._samples(shard)

    async def _withdraw(self, shard: int, container: str, kind: str, item: str, job: Any) -> None:
        keys = [container, self.any.live(shard), self.any.ids(shard, job.id)]
        await self.scripts.run("withdraw", keys, [kind, GROUP, item, job.scope, job.id])

    async def _ready(self, shard: int, stream: str) -> None:
        start = "-"
        while True:
            page = await self.client.xrange(stream, min=start, max="+", count=PAGE)
            for entry_id, fields in page:
                job = decode_job(fields[b"j"] if b"j" in fields else fields["j"])
                if self.new.shard_of(job.scope) == shard:
                    continue
                await self.producer.enqueue(job)
                await self._withdraw(shard, stream, "stream", _text(entry_id), job)
                self.counts["ready"] += 1
            if len(page) < PAGE:
                return
            start = "(" + _text(page[-1][0])

    async def _delayed(self, shard: int) -> None:
        key = self.any.delayed(shard)
        offset = 0
        while True:
            page = await self.client.zrange(key, offset, offset + PAGE - 1, withscores=True)
            for member, score in page:
                raw = member if isinstance(member, bytes) else str(member).encode()
                job = decode_job(raw[1:])
                if self.new.shard_of(job.scope) == shard:
                    offset += 1
                    continue
                await self.producer.enqueue(job, due_ms=max(int(score), 1))
                await self._withdraw(shard, key, "delayed", raw.decode(), job)
                self.counts["delayed"] += 1
            if len(page) < PAGE:
                return

    async def _dead(self, shard: int) -> None:
        stream = self.any.dead(shard)
        start = "-"
        while True:
            page = await self.client.xrange(stream, min=start, max="+", count=PAGE)
            for entry_id, raw_fields in page:
                fields = {_text(k): v for k, v in raw_fields.items()}
                scope, category = _text(fields["scope"]), _text(fields["category"])
                target = self.new.shard_of(scope)
                if target == shard:
                    continue
                flat: list[Any] = [item for pair in fields.items() for item in pair]
                deposit = [
                    self.new.dead(target),
                    self.new.dead_scopes(target),
                    self.new.counts_on(target, scope),
                    self.new.moved(target),
                ]
                marker = f"{shard}:{_text(entry_id)}"
                await self.scripts.run("deposit", deposit, [marker, scope, category, *flat])
                purge = [
                    stream,
                    self.any.dead_scopes(shard),
                    self.any.counts_on(shard, scope),
                    self.any.samples_on(shard, scope),
                ]
                await self.scripts.run("purge", purge, [scope, "0", _text(entry_id), category])
                self.counts["dead"] += 1
            if len(page) < PAGE:
                return
            start = "(" + _text(page[-1][0])

    async def _samples(self, shard: int) -> None:
        prefix = self.any.samples_on(shard, "")
        async for raw in self.client.scan_iter(match=self.any.samples_pattern(shard)):
            key = _text(raw)
            scope = key[len(prefix) :]
            target = self.new.shard_of(scope)
            if target == shard:
                continue
            samples = await self.client.lrange(key, 0, -1)
            destination = self.new.samples_on(target, scope)
            if samples:  # replace, so a second run after an interruption copies them once
                pipe = self.client.pipeline(transaction=False)
                pipe.delete(destination)
                pipe.rpush(destination, *samples)
                await pipe.execute()
            await self.client.delete(key)

    async def finish(self, target: int) -> None:
        """Store the new count, make its consumer groups, and drop what the move left over."""
        await self.client.set(self.new.shard_count, target)
        await ensure_groups(self.client, self.new, range(target))
        for shard in range(self.span):
            await self.client.delete(self.any.moved(shard))
        for shard in range(target, self.span):  # shards the new count no longer has: all empty
            doomed = [
                *self.any.streams(shard),
                self.any.delayed(shard),
                self.any.dead(shard),
                self.any.dead_scopes(shard),
                self.any.live(shard),
            ]
            for key in doomed:
                await self.client.delete(key)
            async for raw in self.client.scan_iter(match=self.any.ids_pattern(shard)):
                await self.client.delete(raw)


async def reshard(
    client: Any, config: QueueConfig, target: int, *, assume_current: int | None = None
) -> ReshardResult:
    """Move the queue under ``config.prefix`` to ``target`` shards (see the module docstring).

    When Redis stores no count yet (processes that predate the stored count), the queue is
    taken to have ``assume_current`` shards, by default ``config.shards``.

    Raises:
        ReshardRefused: processes still use the queue (named), or an interrupted reshard to
            another count must be finished first.
        ConfigError: ``target`` is out of range.
    """
    probe = QueueKeys(target, config.prefix)
    underway = await reshard_underway(client, probe)
    stored = await stored_shard_count(client, probe)
    source = stored if stored is not None else assume_current or config.shards
    if underway is not None:
        source, planned = underway
        if planned != target:
            raise ReshardRefused(
                f"a reshard from {source} to {planned} shard(s) was interrupted; finish it "
                f"first with `simcrm queue reshard {planned}`"
            )
    elif source == target:
        await client.set(probe.shard_count, target, nx=True)
        return ReshardResult(source, target)
    else:
        # Announce first, then look for members: a process starting meanwhile sees the
        # announcement (it checks after registering) or is seen here.
        if not await client.set(probe.reshard, f"{source}:{target}", nx=True):
            raise ReshardRefused("another reshard started just now; wait for it to finish")
    members = await live_members(client, probe)
    if members:
        if underway is None:
            await client.delete(probe.reshard)
        names = ", ".join(f"{name} (lapses in {max(0, left) // 1000} s)" for name, left in members)
        raise ReshardRefused(
            f"{len(members)} process(es) use the queue: {names}. Stop every daemon and API "
            "first (a process that died lapses by itself within seconds), then run this again"
        )
    mover = _Mover(client, config, source, target)
    log.info("reshard_started", source=source, target=target)
    await mover.run()
    await mover.finish(target)
    await client.delete(probe.reshard)
    result = ReshardResult(source, target, **mover.counts)
    log.info("reshard_finished", source=source, target=target, moved=result.moved)
    return result
