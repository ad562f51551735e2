"""Enqueuing jobs, one or thousands at a time.

Jobs are grouped by shard and sent as ``enqueue`` script calls of up to ``enqueue_chunk`` jobs,
all pipelined in one round trip (one per node on a Cluster). A job is added only if its id is not
live already (ready, delayed or running), so enqueuing the same job twice is harmless; once a job
is done or dead-lettered its id may be enqueued again.

A job still waiting in its shard's delayed set can be *hastened*: its due time lowered, never
raised (``ZADD XX LT``), so a job parked far ahead can be released as soon as what it waits for
has happened. A job that is no longer delayed — moved to its ready stream, running, retried under
a new attempt, done — is not in the set under that member, and nothing happens to it: hastening
never adds a job, so it can never run twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from core.lua import KeyList, KeyOrArg
from streams.context import QueueContext
from streams.job import Job, delayed_member

Scheduled = Job | tuple[Job, int | None]
PIPELINE_CALLS = 4


class Producer:
    """Adds jobs to their shards (see the module docstring)."""

    def __init__(self, ctx: QueueContext, on_delayed: Callable[[], None] | None = None) -> None:
        self._ctx = ctx
        self._on_delayed = on_delayed

    async def enqueue(self, job: Job, *, due_ms: int | None = None) -> bool:
        """Enqueue one job, ready now or at epoch ms ``due_ms``; False if its id was live."""
        return await self.enqueue_many([(job, due_ms)]) == 1

    async def enqueue_many(self, jobs: Iterable[Scheduled]) -> int:
        """Enqueue jobs (each a :class:`Job`, ready now, or ``(job, due_ms)``).

        Returns how many were added; jobs whose id is live already are skipped. Script calls are
        sent in pipelines of a few while the next ones are being encoded, so Redis works while
        Python prepares the rest.
        """
        now = self._ctx.clock.now_ms()
        size = self._ctx.config.enqueue_chunk
        buffers: dict[int, list[tuple[str, str, str, int, bytes]]] = {}
        shard_of: dict[str, int] = {}  # scopes repeat: hash each once per call
        ready: list[tuple[str, list[str], list[KeyOrArg]]] = []
        sending: list[asyncio.Task[list[Any]]] = []
        delayed = False
        for item in jobs:
            job, due = (item, None) if isinstance(item, Job) else item
            due_ms = now if due is None else due
            delayed = delayed or due_ms > now
            shard = shard_of.get(job.scope)
            if shard is None:
                shard = shard_of[job.scope] = self._ctx.keys.shard_of(job.scope)
            buffer = buffers.setdefault(shard, [])
            buffer.append((job.id, job.scope, job.priority.code, due_ms, job.encode()))
            if len(buffer) >= size:
                ready.append(self._call(shard, buffer, now))
                buffers[shard] = []
                if len(ready) >= PIPELINE_CALLS:
                    sending.append(asyncio.create_task(self._ctx.scripts.run_many(ready)))
                    ready = []
                    await asyncio.sleep(0)  # let the task write while we encode the next ones
        ready += [self._call(shard, buffer, now) for shard, buffer in buffers.items() if buffer]
        if ready:
            sending.append(asyncio.create_task(self._ctx.scripts.run_many(ready)))
        results = await asyncio.gather(*sending)
        added = sum(int(n) for result in results for n in result)
        if delayed and self._on_delayed is not None:
            self._on_delayed()
        return added

    async def hasten(self, scope: str, jobs: Sequence[tuple[Job, int]]) -> int:
        """Lower the due time of ``scope``'s delayed ``jobs`` to each one's epoch ms (a job due
        earlier already, or not delayed at all, is left as it is), in one round trip; movers are
        nudged when one was moved forward. Returns how many were moved forward.

        Each job must be encoded as it was enqueued (same data, attempt and priority): the
        delayed set knows a job by its encoding.
        """
        if not jobs:
            return 0
        delayed = self._ctx.keys.delayed(self._ctx.keys.shard_of(scope))
        pipe = self._ctx.client.pipeline(transaction=False)
        for job, due_ms in jobs:
            if job.scope != scope:
                raise ValueError(f"job {job.id} has scope {job.scope!r}, not {scope!r}")
            member = delayed_member(job.priority, job.encode())
            pipe.zadd(delayed, {member: due_ms}, xx=True, lt=True, ch=True)
        hastened = sum(int(changed) for changed in await pipe.execute())
        if hastened and self._on_delayed is not None:
            self._on_delayed()
        return hastened

    def _call(
        self, shard: int, items: list[tuple[str, str, str, int, bytes]], now: int
    ) -> tuple[str, list[str], list[KeyOrArg]]:
        primary, secondary = self._ctx.keys.streams(shard)
        keys = KeyList(
            [primary, secondary, self._ctx.keys.delayed(shard), self._ctx.keys.live(shard)]
        )
        lines = []
        for job_id, scope, code, due_ms, payload in items:
            bucket = keys.index(self._ctx.keys.ids(shard, job_id))
            head = f"{bucket}:{code}:{due_ms}:{len(payload)}:{len(scope.encode())}"
            lines.append(f"{head}:{scope}{job_id}\n")
        payloads = b"".join(item[4] for item in items)
        return "enqueue", keys.keys, [now, "".join(lines), payloads]
