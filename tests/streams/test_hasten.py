"""Hastening delayed jobs: a job parked far ahead is brought forward, never duplicated, and a
job that is no longer delayed is left alone."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from core.clock import ManualClock
from streams import Queue
from streams.handlers import PerJob
from streams.job import Job, Priority
from tests.streams.conftest import QueueFactory, eventually

HOUR_MS = 3_600_000


async def test_a_hastened_delayed_job_is_read_soon(make_queue: QueueFactory) -> None:
    """A job parked an hour ahead runs right after it is hastened to now, without waiting for
    the mover's interval, and exactly once."""
    queue = await make_queue(mover_interval_ms=60_000)
    parked = Job("parked", "note", "s", {"i": 1}, priority=Priority.SECONDARY)
    runs: list[str] = []

    async def handle(job: Job) -> None:
        runs.append(job.id)

    async with queue.worker({"note": PerJob(handle)}):
        await queue.enqueue(parked, due_ms=queue.clock.now_ms() + HOUR_MS)
        await asyncio.sleep(0.1)
        assert runs == []
        assert await queue.hasten("s", [(parked, queue.clock.now_ms())]) == 1
        await eventually(lambda: runs == ["parked"], within=5)
        await eventually(lambda: _none_live(queue), within=5)
        assert await queue.hasten("s", [(parked, queue.clock.now_ms())]) == 0
        await asyncio.sleep(0.1)
    assert runs == ["parked"]


async def _none_live(queue: Queue) -> bool:
    return await queue.live_count("s") == 0


async def test_hasten_only_lowers_a_delayed_jobs_due_time(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """A job due sooner than asked keeps its time; a later one is brought forward; neither is
    added a second time."""
    queue = await make_queue(clock=manual_clock)
    now = manual_clock.now_ms()
    soon, later = Job("soon", "note", "s"), Job("later", "note", "s")
    await queue.enqueue_many([(soon, now + 1_000), (later, now + HOUR_MS)])
    assert await queue.hasten("s", [(soon, now + 5_000), (later, now + 2_000)]) == 1
    delayed = queue.keys.delayed(0)
    assert await redis.zcard(delayed) == 2
    assert await redis.zscore(delayed, b"p" + soon.encode()) == now + 1_000
    assert await redis.zscore(delayed, b"p" + later.encode()) == now + 2_000
    manual_clock.advance(2_000)
    assert (await queue.promote_due()).moved == 2
    assert await redis.xlen(queue.keys.ready(0, Priority.PRIMARY)) == 2


async def test_a_job_no_longer_delayed_is_untouched(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """Hastening a job that is ready already, one never enqueued, or one enqueued under another
    encoding (another attempt) adds nothing anywhere."""
    queue = await make_queue(clock=manual_clock)
    now = manual_clock.now_ms()
    ready, retried = Job("ready", "note", "s"), Job("retried", "note", "s", attempt=2)
    await queue.enqueue(ready)
    await queue.enqueue(retried, due_ms=now + HOUR_MS)
    stranger = Job("stranger", "note", "s")
    first_try = Job("retried", "note", "s")
    assert await queue.hasten("s", [(ready, now), (stranger, now), (first_try, now)]) == 0
    assert await redis.zcard(queue.keys.delayed(0)) == 1
    assert await redis.xlen(queue.keys.ready(0, Priority.PRIMARY)) == 1
    assert await queue.live_count("s") == 2
    assert (await queue.promote_due()).moved == 0
