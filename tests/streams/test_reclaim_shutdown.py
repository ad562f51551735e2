"""Stalled jobs, heartbeats, reclaim, and graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any, cast

from redis.asyncio import Redis

from streams.handlers import PerJob
from streams.job import Job, Priority
from streams.keys import GROUP
from streams.outcomes import QueueCategory
from tests.streams.conftest import QueueFactory, eventually


async def _pending(redis: Redis, stream: str) -> list[dict[str, Any]]:
    return list(await redis.xpending_range(stream, GROUP, min="-", max="+", count=100))


async def test_entries_of_a_dead_consumer_are_reclaimed_and_run(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """Entries a consumer took and never settled run on another worker once idle past the
    visibility timeout; each exactly once here, and nothing stays pending."""
    queue = await make_queue()
    await queue.enqueue_many([Job(f"j{i}", "note", "sim") for i in range(20)])
    stream = queue.keys.ready(0, Priority.PRIMARY)
    taken: Any = await redis.xreadgroup(GROUP, "ghost", {stream: ">"}, count=12)
    assert len(taken[0][1]) == 12
    runs: list[str] = []

    async def handle(job: Job) -> None:
        runs.append(job.id)

    async with queue.worker({"note": PerJob(handle)}) as worker:
        await eventually(lambda: worker.totals.acked == 20)
    assert sorted(runs) == sorted(f"j{i}" for i in range(20))
    assert await _pending(redis, stream) == []


async def test_entries_past_the_delivery_limit_are_dead_lettered_as_stalled(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """An entry whose consumers kept dying is dead-lettered `stalled` when reclaimed past
    max_deliveries, without running again; one under the limit runs."""
    queue = await make_queue(max_deliveries=2)
    await queue.enqueue_many([Job("poison", "note", "sim"), Job("fine", "note", "sim")])
    stream = queue.keys.ready(0, Priority.PRIMARY)
    reply: Any = await redis.xreadgroup(GROUP, "ghost-1", {stream: ">"}, count=2)
    [[_, entries]] = reply
    poison_id = entries[0][0]
    # A second consumer took the poison entry over and died too: two deliveries so far.
    await redis.xclaim(stream, GROUP, "ghost-2", 0, [poison_id], idle=60_000)
    runs: list[str] = []

    async def handle(job: Job) -> None:
        runs.append(job.id)

    async with queue.worker({"note": PerJob(handle)}) as worker:
        await eventually(lambda: worker.totals.acked == 1 and worker.totals.dead == 1)
    assert runs == ["fine"]
    [letter] = await queue.dead_letters.entries("sim")
    assert (letter.job.id, letter.category) == ("poison", QueueCategory.STALLED)


async def test_heartbeat_keeps_a_long_job_from_being_run_twice(make_queue: QueueFactory) -> None:
    """A job running three visibility timeouts is never reclaimed by another worker's reaper,
    because its worker renews the claim."""
    queue = await make_queue()
    other = await make_queue(prefix=queue.keys.prefix)
    started = asyncio.Event()
    runs: list[str] = []

    async def slow(job: Job) -> None:
        runs.append(job.id)
        started.set()
        await asyncio.sleep(3 * queue.config.visibility_ms / 1000)

    async with queue.worker({"note": PerJob(slow)}) as first:
        await queue.enqueue(Job("long", "note", "sim"))
        await asyncio.wait_for(started.wait(), 5)
        async with other.worker({"note": PerJob(slow)}):
            await eventually(lambda: first.totals.acked == 1)
    assert runs == ["long"]


async def test_stop_lets_in_flight_jobs_finish_within_the_grace_period(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """stop() stops reading, lets running jobs finish and settles them: nothing stays pending."""
    queue = await make_queue(concurrency=5)
    started = asyncio.Event()
    finished: list[str] = []

    async def handle(job: Job) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(job.id)

    await queue.enqueue_many([Job(f"j{i}", "note", "sim") for i in range(5)])
    worker = queue.worker({"note": PerJob(handle)})
    await worker.start()
    await asyncio.wait_for(started.wait(), 5)
    await worker.stop(grace_ms=2_000)
    assert len(finished) == 5
    assert worker.totals.acked == 5
    assert await _pending(redis, queue.keys.ready(0, Priority.PRIMARY)) == []


async def test_stop_hands_unfinished_jobs_back_at_once_without_counting_a_delivery(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """A job still running when the grace period ends is cancelled and handed back as a new
    entry: nothing stays pending, its earlier deliveries travel with it (the interrupted one not
    counted), and a worker that never reclaims — it only reads — runs it."""
    queue = await make_queue(visibility_ms=30_000, heartbeat_ms=10_000, reaper_interval_ms=100)
    started = asyncio.Event()

    async def hang(job: Job) -> None:
        started.set()
        await asyncio.sleep(3600)

    await queue.enqueue(Job("stuck", "note", "sim"))
    stream = queue.keys.ready(0, Priority.PRIMARY)
    [(first_id, _fields)] = cast(list[Any], await redis.xrange(stream))
    # Delivered twice already (a worker died with it once): that count must survive hand-backs.
    await redis.xreadgroup(GROUP, "ghost", {stream: ">"})
    await redis.xclaim(stream, GROUP, "ghost", 0, [first_id], idle=60_000)
    worker = queue.worker({"note": PerJob(hang)})
    await worker.start()
    await asyncio.wait_for(started.wait(), 5)
    await worker.stop(grace_ms=50)
    assert await _pending(redis, stream) == []
    [(entry_id, fields)] = cast(list[Any], await redis.xrange(stream))
    assert entry_id > first_id
    assert fields[b"d"] == b"2"
    done: list[int] = []

    async def finish(job: Job) -> None:
        done.append(job.attempt)

    reader = queue.worker({"note": PerJob(finish)}, run_reaper=False)
    async with reader:
        await eventually(lambda: reader.totals.acked == 1, within=2.0)
    assert done == [1]


async def test_jobs_handed_back_reach_a_running_worker_without_a_reclaim(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """Two workers, one stopped mid-run: the jobs it hands back are read by the other at once —
    the other's reaper never runs (hour-long interval, visibility one hour), so only the handed-
    back entries being new can reach it, and it settles every job."""
    queue = await make_queue(
        visibility_ms=3_600_000, heartbeat_ms=10_000, reaper_interval_ms=3_600_000, concurrency=4
    )
    first_started = asyncio.Event()
    done: list[str] = []
    busy = asyncio.Event()

    async def hang(job: Job) -> None:
        first_started.set()
        await asyncio.sleep(3600)

    async def finish(job: Job) -> None:
        await busy.wait()
        done.append(job.id)

    await queue.enqueue_many([Job(f"j{i}", "note", "sim") for i in range(4)])
    first = queue.worker({"note": PerJob(hang)})
    await first.start()
    await asyncio.wait_for(first_started.wait(), 5)
    async with queue.worker({"note": PerJob(finish)}, run_reaper=False) as second:
        await first.stop(grace_ms=50)
        busy.set()
        await eventually(lambda: second.totals.acked == 4, within=5.0)
    assert sorted(done) == ["j0", "j1", "j2", "j3"]


async def test_sigterm_stops_the_worker_gracefully(make_queue: QueueFactory) -> None:
    """On SIGTERM, run_until_signal stops reading, finishes the running job and returns."""
    queue = await make_queue()
    started = asyncio.Event()
    finished: list[str] = []

    async def handle(job: Job) -> None:
        started.set()
        await asyncio.sleep(0.1)
        finished.append(job.id)

    await queue.enqueue(Job("j", "note", "sim"))
    worker = queue.worker({"note": PerJob(handle)})
    running = asyncio.create_task(worker.run_until_signal())
    await asyncio.wait_for(started.wait(), 5)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(running, 5)
    assert finished == ["j"]
    assert worker.totals.acked == 1
