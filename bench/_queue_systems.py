"""The queues the ``queue`` benchmark drives, behind one small interface.

Each system runs the same no-op job with the same ~200-byte payload: ``start`` a worker at a
concurrency with a callback ``on_job(index, due_ms)``, ``enqueue`` jobs ready now (batched where
the system allows: ours in one pipelined call per 500 jobs; arq and SAQ have no bulk enqueue, so
their jobs are sent concurrently in groups of 500), ``enqueue_at`` delayed jobs.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from redis.asyncio import Redis

from streams.config import QueueConfig
from streams.handlers import PerJob
from streams.job import Job
from streams.queue import Queue

OnJob = Callable[[int, int], None]
GROUP = 500
PAD = "x" * 150


def payload(index: int, due_ms: int) -> dict[str, Any]:
    """The job's arguments: about 200 bytes once encoded by any of the systems."""
    return {"i": index, "due": due_ms, "pad": PAD, "sim": "sim-0001", "kind": "note"}


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class System(Protocol):
    name: str
    version: str

    async def open(self, url: str) -> None: ...
    async def close(self) -> None: ...
    async def enqueue(self, indexes: Sequence[int]) -> None: ...
    async def enqueue_at(self, items: Sequence[tuple[int, int]]) -> None: ...
    async def start(self, concurrency: int, on_job: OnJob) -> None: ...
    async def stop(self) -> None: ...


async def _in_groups(calls: Sequence[Any]) -> None:
    for start in range(0, len(calls), GROUP):
        await asyncio.gather(*calls[start : start + GROUP])


class Ours:
    name = "simcrm-streams"
    version = version("simcrm")

    async def open(self, url: str) -> None:
        self.client = Redis.from_url(url)
        self.queue = Queue(self.client, QueueConfig(shards=1, prefix="bench"))
        await self.queue.open()
        self.worker: Any = None

    async def close(self) -> None:
        await self.queue.close()
        await self.client.aclose()

    def _job(self, index: int, due_ms: int) -> Job:
        data = payload(index, due_ms)
        return Job(f"job-{index}", "noop", "sim-0001", data)

    async def enqueue(self, indexes: Sequence[int]) -> None:
        await self.queue.enqueue_many([self._job(i, 0) for i in indexes])

    async def enqueue_at(self, items: Sequence[tuple[int, int]]) -> None:
        await self.queue.enqueue_many([(self._job(i, due), due) for i, due in items])

    async def start(self, concurrency: int, on_job: OnJob) -> None:
        async def run(job: Job) -> None:
            on_job(int(job.data["i"]), int(job.data["due"]))

        config = QueueConfig(shards=1, prefix="bench", concurrency=concurrency)
        self.worker = Queue(self.client, config).worker({"noop": PerJob(run)})
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()


class Arq:
    name = "arq"
    version = version("arq")
    poll_delay_s = 0.01

    async def open(self, url: str) -> None:
        from arq import create_pool
        from arq.connections import RedisSettings

        self.settings = RedisSettings.from_dsn(url)
        self.pool = await create_pool(self.settings)
        self.worker: Any = None
        self.task: asyncio.Task[Any] | None = None

    async def close(self) -> None:
        await self.pool.aclose()

    async def enqueue(self, indexes: Sequence[int]) -> None:
        await _in_groups([self.pool.enqueue_job("noop", **payload(i, 0)) for i in indexes])

    async def enqueue_at(self, items: Sequence[tuple[int, int]]) -> None:
        now_ms = _now_ms()
        await _in_groups(
            [
                self.pool.enqueue_job(
                    "noop",
                    **payload(i, due),
                    _defer_by=timedelta(milliseconds=max(0, due - now_ms)),
                )
                for i, due in items
            ]
        )

    async def start(self, concurrency: int, on_job: OnJob) -> None:
        from arq.worker import Worker, func

        async def noop(ctx: dict[str, Any], **kwargs: Any) -> None:
            on_job(int(kwargs["i"]), int(kwargs["due"]))

        self.worker = Worker(
            functions=[func(noop, name="noop")],
            redis_settings=self.settings,
            max_jobs=concurrency,
            poll_delay=self.poll_delay_s,
            keep_result=0,
            handle_signals=False,
            log_results=False,
        )
        self.task = asyncio.create_task(self.worker.main())

    async def stop(self) -> None:
        # arq's close() re-raises the cancellation of its own job tasks: collect, do not raise.
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await asyncio.gather(self.worker.close(), return_exceptions=True)


class Saq:
    name = "saq"
    version = version("saq")

    async def open(self, url: str) -> None:
        from saq import Queue as SaqQueue

        self.queue = SaqQueue.from_url(url)
        await self.queue.connect()
        self.worker: Any = None
        self.task: asyncio.Task[Any] | None = None

    async def close(self) -> None:
        await self.queue.disconnect()

    async def enqueue(self, indexes: Sequence[int]) -> None:
        await _in_groups([self.queue.enqueue("noop", ttl=-1, **payload(i, 0)) for i in indexes])

    async def enqueue_at(self, items: Sequence[tuple[int, int]]) -> None:
        await _in_groups(
            [
                self.queue.enqueue("noop", ttl=-1, scheduled=due / 1000, **payload(i, due))
                for i, due in items
            ]
        )

    async def start(self, concurrency: int, on_job: OnJob) -> None:
        from saq import Worker as SaqWorker

        async def noop(ctx: dict[str, Any], **kwargs: Any) -> None:
            on_job(int(kwargs["i"]), int(kwargs["due"]))

        self.worker = SaqWorker(self.queue, functions=[("noop", noop)], concurrency=concurrency)
        self.task = asyncio.create_task(self.worker.start())

    async def stop(self) -> None:
        await self.worker.stop()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


SYSTEMS: dict[str, type[Ours] | type[Arq] | type[Saq]] = {"ours": Ours, "arq": Arq, "saq": Saq}
