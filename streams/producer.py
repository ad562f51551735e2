"""Enqueuing jobs, one or thousands at a time.

Jobs are grouped by shard and sent as ``enqueue`` script calls of up to ``enqueue_chunk`` jobs,
all pipelined in one round trip (one per node on a Cluster). A job is added only if its id is not
live already (ready, delayed or running), so enqueuing the same job twice is harmless; once a job
is done or dead-lettered its id may be enqueued again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from streams.clock import Clock
from streams.config import QueueConfig
from streams.job import Job
from streams.keys import QueueKeys
from streams.scripts import KeyList, KeyOrArg, Scripts

Scheduled = Job | tuple[Job, int | None]


class Producer:
    def __init__(
        self,
        keys: QueueKeys,
        scripts: Scripts,
        config: QueueConfig,
        clock: Clock,
        on_delayed: Callable[[], None] | None = None,
    ) -> None:
        self._keys = keys
        self._scripts = scripts
        self._config = config
        self._clock = clock
        self._on_delayed = on_delayed

    async def enqueue(self, job: Job, *, due_ms: int | None = None) -> bool:
        """Enqueue one job, ready now or at epoch ms ``due_ms``; False if its id was live."""
        return await self.enqueue_many([(job, due_ms)]) == 1

    async def enqueue_many(self, jobs: Iterable[Scheduled]) -> int:
        """Enqueue jobs (each a :class:`Job`, ready now, or ``(job, due_ms)``).

        Returns how many were added; jobs whose id is live already are skipped.
        """
        now = self._clock.now_ms()
        by_shard: dict[int, list[tuple[str, str, int, bytes]]] = {}
        shard_of: dict[str, int] = {}  # scopes repeat: hash each once per call
        delayed = False
        for item in jobs:
            job, due = (item, None) if isinstance(item, Job) else item
            due_ms = now if due is None else due
            delayed = delayed or due_ms > now
            shard = shard_of.get(job.scope)
            if shard is None:
                shard = shard_of[job.scope] = self._keys.shard_of(job.scope)
            by_shard.setdefault(shard, []).append((job.id, job.priority.code, due_ms, job.encode()))
        calls: list[tuple[str, list[str], list[KeyOrArg]]] = []
        size = self._config.enqueue_chunk
        for shard, items in by_shard.items():
            primary, secondary = self._keys.streams(shard)
            for start in range(0, len(items), size):
                keys = KeyList([primary, secondary, self._keys.delayed(shard)])
                args: list[KeyOrArg] = [now]
                for job_id, code, due_ms, payload in items[start : start + size]:
                    bucket = keys.index(self._keys.ids(shard, job_id))
                    args += (bucket, job_id, code, due_ms, payload)
                calls.append(("enqueue", keys.keys, args))
        if not calls:
            return 0
        added = sum(int(n) for n in await self._scripts.run_many(calls))
        if delayed and self._on_delayed is not None:
            self._on_delayed()
        return added
