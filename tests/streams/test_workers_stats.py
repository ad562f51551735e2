"""Several workers on the same shards, and the queue's gauges."""

from __future__ import annotations

import asyncio
from collections import Counter

from redis.asyncio import Redis

from core.clock import ManualClock, SystemClock
from streams.handlers import PerJob
from streams.job import Job, Priority
from streams.keys import GROUP
from streams.outcomes import DeadLetter, Outcome
from streams.queue import Queue
from tests.streams.conftest import QueueFactory, eventually


async def test_two_workers_on_the_same_shards_never_run_a_job_twice(
    make_queue: QueueFactory, redis_url: str
) -> None:
    """Two workers (own connections, as two daemons would have) share 3,000 jobs on 3 shards:
    every job runs exactly once and both do work."""
    queue = await make_queue(shards=3)
    other_client = Redis.from_url(redis_url)
    try:
        other = await make_queue(client=other_client, shards=3, prefix=queue.keys.prefix)
        runs: Counter[str] = Counter()
        by_worker: Counter[str] = Counter()

        def handler(name: str) -> PerJob:
            async def handle(job: Job) -> None:
                runs[job.id] += 1
                by_worker[name] += 1
                await asyncio.sleep(0)

            return PerJob(handle)

        await queue.enqueue_many([Job(f"j{i}", "note", f"s{i % 10}") for i in range(3_000)])
        async with queue.worker({"note": handler("a")}), other.worker({"note": handler("b")}):
            await eventually(lambda: sum(runs.values()) >= 3_000)
            await eventually(lambda: _empty(queue))
        assert len(runs) == 3_000
        assert set(runs.values()) == {1}
        assert by_worker["a"] > 0
        assert by_worker["b"] > 0
    finally:
        await other_client.aclose()


async def _empty(queue: Queue) -> bool:
    return all(s.depth == 0 for s in await queue.stats())


async def test_stats_report_depth_pending_delayed_lag_and_dead(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """Gauges show waiting and pending per stream, delayed jobs, how overdue the earliest
    delayed job is, the oldest entry's age, and dead letters."""
    # Entry ids carry the server's time, so this clock starts at the real time.
    manual_clock = ManualClock(SystemClock().now_ms())
    queue = await make_queue(clock=manual_clock, shards=2)
    scope = "sim"
    shard = queue.keys.shard_of(scope)
    now = manual_clock.now_ms()
    await queue.enqueue_many(
        [Job(f"p{i}", "note", scope) for i in range(4)]
        + [Job(f"s{i}", "note", scope, priority=Priority.SECONDARY) for i in range(3)]
        + [(Job(f"d{i}", "note", scope), now + 1_000 * (i + 1)) for i in range(2)]
    )
    await redis.xreadgroup(
        GROUP, "ghost", {queue.keys.ready(shard, Priority.PRIMARY): ">"}, count=1
    )
    manual_clock.advance(1_500)
    stats = (await queue.stats())[shard]
    primary, secondary = stats.streams["primary"], stats.streams["secondary"]
    assert (primary.waiting, primary.pending) == (3, 1)
    assert (secondary.waiting, secondary.pending) == (3, 0)
    assert stats.delayed == 2
    assert stats.overdue_ms == 500
    assert primary.oldest_age_ms >= 1_400  # the server stamped the entry a moment later
    assert stats.depth == 9
    assert (await queue.stats())[1 - shard].depth == 0

    async def fail(job: Job) -> Outcome:
        return DeadLetter("not_found")

    async with queue.worker({"note": PerJob(fail)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.dead == 6)
    assert (await queue.stats())[shard].dead == 6
