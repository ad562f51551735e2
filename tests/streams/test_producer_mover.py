"""Enqueuing (now, delayed, duplicates) and the delayed mover."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from core.clock import ManualClock
from streams.job import Job, Priority
from tests.streams.conftest import QueueFactory


def _jobs(n: int, scope: str = "sim-1", **kwargs: object) -> list[Job]:
    return [Job(f"{scope}:{i}", "note", scope, {"i": i}, **kwargs) for i in range(n)]  # type: ignore[arg-type]


async def test_enqueue_puts_ready_jobs_on_their_shards_stream(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """Ready jobs land on the primary or secondary stream of fnv1a(scope) % shards."""
    queue = await make_queue(shards=4)
    primary = _jobs(5, "sim-a")
    secondary = _jobs(3, "sim-b", priority=Priority.SECONDARY)
    assert await queue.enqueue_many([*primary, *secondary]) == 8
    keys = queue.keys
    assert await redis.xlen(keys.ready(keys.shard_of("sim-a"), Priority.PRIMARY)) == 5
    assert await redis.xlen(keys.ready(keys.shard_of("sim-b"), Priority.SECONDARY)) == 3


async def test_enqueuing_a_live_job_twice_is_harmless(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """A second enqueue of a live id (ready or delayed, in one call or two) adds nothing."""
    queue = await make_queue(clock=manual_clock)
    jobs = _jobs(10)
    later = manual_clock.now_ms() + 5_000
    assert await queue.enqueue_many([*jobs[:5], *[(j, later) for j in jobs[5:]]]) == 10
    assert await queue.enqueue_many([*jobs, *jobs]) == 0
    assert not await queue.enqueue(jobs[0])
    assert await redis.xlen(queue.keys.ready(0, Priority.PRIMARY)) == 5
    assert await redis.zcard(queue.keys.delayed(0)) == 5


async def test_delayed_jobs_wait_for_their_due_time(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """A delayed job stays in the delayed set until the clock reaches its due time, then moves
    to its own class's stream, earliest first."""
    queue = await make_queue(clock=manual_clock)
    now = manual_clock.now_ms()
    await queue.enqueue(Job("a", "note", "s"), due_ms=now + 1_000)
    await queue.enqueue(Job("b", "note", "s", priority=Priority.SECONDARY), due_ms=now + 2_000)
    result = await queue.promote_due()
    assert (result.moved, result.next_due_ms) == (0, now + 1_000)
    manual_clock.advance(1_000)
    result = await queue.promote_due()
    assert (result.moved, result.next_due_ms) == (1, now + 2_000)
    assert await redis.xlen(queue.keys.ready(0, Priority.PRIMARY)) == 1
    manual_clock.advance(1_000)
    assert (await queue.promote_due()).moved == 1
    assert await redis.xlen(queue.keys.ready(0, Priority.SECONDARY)) == 1
    assert (await queue.promote_due()).next_due_ms is None


async def test_mover_works_in_batches_until_nothing_is_due(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """More due jobs than one batch are all moved by one promote pass, in batch-sized calls."""
    queue = await make_queue(clock=manual_clock, mover_batch=7, enqueue_chunk=3)
    due = manual_clock.now_ms() + 10
    await queue.enqueue_many([(job, due) for job in _jobs(50)])
    manual_clock.advance(10)
    assert (await queue.promote_due()).moved == 50
    assert await redis.xlen(queue.keys.ready(0, Priority.PRIMARY)) == 50


async def test_concurrent_movers_never_move_a_job_twice(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """Eight movers racing on the same shards move each due job exactly once."""
    queue = await make_queue(clock=manual_clock, shards=3, mover_batch=20)
    due = manual_clock.now_ms() + 1
    jobs = [j for scope in ("x", "y", "z") for j in _jobs(200, scope)]
    await queue.enqueue_many([(job, due) for job in jobs])
    manual_clock.advance(1)
    others = [
        await make_queue(clock=manual_clock, shards=3, prefix=queue.keys.prefix) for _ in range(7)
    ]
    results = await asyncio.gather(queue.promote_due(), *(q.promote_due() for q in others))
    assert sum(r.moved for r in results) == 600
    total = 0
    for shard in range(3):
        total += await redis.xlen(queue.keys.ready(shard, Priority.PRIMARY))
    assert total == 600


async def test_enqueue_wakes_the_background_mover_for_jobs_due_soon(
    make_queue: QueueFactory,
) -> None:
    """A worker's mover promotes a job due shortly without waiting for its full interval."""
    queue = await make_queue(mover_interval_ms=5_000)
    ran = asyncio.Event()

    async def handle(job: Job) -> None:
        ran.set()

    from streams.handlers import PerJob

    async with queue.worker({"note": PerJob(handle)}):
        await asyncio.sleep(0.05)
        await queue.enqueue(Job("soon", "note", "s"), due_ms=queue.clock.now_ms() + 50)
        await asyncio.wait_for(ran.wait(), 2)
