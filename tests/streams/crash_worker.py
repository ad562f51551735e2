"""A worker process for the crash test: records each job's effect in Redis, until killed.

``python -m tests.streams.crash_worker REDIS_URL PREFIX EFFECTS_KEY``
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from redis.asyncio import Redis

from streams.config import QueueConfig
from streams.handlers import Batched
from streams.job import Job
from streams.outcomes import ACK, Outcome
from streams.queue import Queue
from tests.streams.conftest import FAST


async def main(url: str, prefix: str, effects: str) -> None:
    client = Redis.from_url(url)

    async def record(jobs: Sequence[Job]) -> Sequence[Outcome]:
        pipe = client.pipeline(transaction=False)
        for job in jobs:
            pipe.hincrby(effects, job.id, 1)
        await pipe.execute()
        await asyncio.sleep(0.01)
        return [ACK] * len(jobs)

    config = QueueConfig(**{**FAST, "prefix": prefix, "concurrency": 50, "read_count": 25})
    async with Queue(client, config) as queue, queue.worker({"note": Batched(record)}) as worker:
        await worker.wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
