"""A worker killed with SIGKILL in the middle of a 10,000-job run loses nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from redis.asyncio import Redis

from streams.handlers import Batched
from streams.job import Job
from streams.outcomes import ACK, Outcome
from streams.queue import Queue
from tests.streams.conftest import QueueFactory, eventually

ROOT = Path(__file__).resolve().parents[2]
JOBS = 10_000


@pytest.mark.slow
async def test_sigkilled_worker_loses_no_job(
    make_queue: QueueFactory, redis: Redis, redis_url: str
) -> None:
    """Kill -9 a worker process mid-run: another worker finishes the run, every job's effect is
    recorded at least once and none is missing, and the queue ends empty."""
    queue = await make_queue(shards=2)
    effects = f"{queue.keys.prefix}:effects"
    await queue.enqueue_many([Job(f"j{i}", "note", f"sim-{i % 4}") for i in range(JOBS)])
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.streams.crash_worker", redis_url, queue.keys.prefix, effects),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await eventually(lambda: _at_least(redis, effects, 2_000), within=30)
    finally:
        child.kill()
        await child.wait()
    killed_at = await redis.hlen(effects)
    assert killed_at < JOBS, "the run finished before the kill; the test proves nothing"

    async def record(jobs: Sequence[Job]) -> Sequence[Outcome]:
        pipe = redis.pipeline(transaction=False)
        for job in jobs:
            pipe.hincrby(effects, job.id, 1)
        await pipe.execute()
        return [ACK] * len(jobs)

    async with queue.worker({"note": Batched(record)}):
        await eventually(lambda: _depth_is_zero(queue), within=60)
    counts = {str(k): int(v) for k, v in (await redis.hgetall(effects)).items()}
    assert len(counts) == JOBS
    assert min(counts.values()) >= 1
    assert (await queue.dead_letters.summary()).total == 0


async def _at_least(redis: Redis, key: str, count: int) -> bool:
    return int(await redis.hlen(key)) >= count


async def _depth_is_zero(queue: Queue) -> bool:
    return all(s.depth == 0 for s in await queue.stats())
