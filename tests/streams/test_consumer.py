"""Running jobs: outcomes, retries on a fake clock, deferrals, batches, priority, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from core.clock import ManualClock
from streams.errors import PermanentJobError, RetryableJobError
from streams.handlers import Batched, PerJob
from streams.job import Job, Priority, decode_job
from streams.outcomes import ACK, DeadLetter, Defer, Outcome, QueueCategory, Retry
from streams.retry import RetryPolicy
from tests.streams.conftest import QueueFactory, eventually


async def _delayed(redis: Redis, key: str) -> list[tuple[Job, int]]:
    members: Any = await redis.zrange(key, 0, -1, withscores=True)
    return [(decode_job(member[1:]), int(score)) for member, score in members]


async def test_acked_jobs_leave_nothing_behind(make_queue: QueueFactory, redis: Redis) -> None:
    """After every job is acked the ready streams, pending lists and live-id set are empty."""
    queue = await make_queue(shards=2)
    seen: list[str] = []

    async def handle(job: Job) -> None:
        seen.append(job.id)

    await queue.enqueue_many([Job(f"j{i}", "note", f"s{i % 5}") for i in range(300)])
    async with queue.worker({"note": PerJob(handle)}) as worker:
        await eventually(lambda: worker.totals.acked == 300)
    assert sorted(seen) == sorted(f"j{i}" for i in range(300))
    for shard in range(2):
        for stream in queue.keys.streams(shard):
            assert await redis.xlen(stream) == 0
        assert [k async for k in redis.scan_iter(queue.keys.ids_pattern(shard))] == []
    assert all(s.depth == 0 for s in await queue.stats())


async def test_retries_follow_the_type_backoff_on_the_clock(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """A failing job is rescheduled at now + backoff[attempt-1] as attempt + 1, and dead-lettered
    with its category once its attempts are spent — checked on a stepped clock."""
    policy = RetryPolicy(attempts=3, backoff_ms=(2_000, 8_000))
    queue = await make_queue(clock=manual_clock, policies={"contact": policy})
    attempts: list[int] = []

    async def handle(job: Job) -> None:
        attempts.append(job.attempt)
        raise RetryableJobError("server", "503 from upstream")

    start = manual_clock.now_ms()
    await queue.enqueue(Job("c1", "contact", "sim"))
    async with queue.worker({"contact": PerJob(handle)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.rescheduled == 1)
        [(job, due)] = await _delayed(redis, queue.keys.delayed(0))
        assert (job.attempt, due) == (2, start + 2_000)
        manual_clock.advance(1_999)
        assert (await queue.promote_due()).moved == 0
        manual_clock.advance(1)
        assert (await queue.promote_due()).moved == 1
        await eventually(lambda: worker.totals.rescheduled == 2)
        [(job, due)] = await _delayed(redis, queue.keys.delayed(0))
        assert (job.attempt, due) == (3, start + 2_000 + 8_000)
        manual_clock.advance(8_000)
        await queue.promote_due()
        await eventually(lambda: worker.totals.dead == 1)
    assert attempts == [1, 2, 3]
    letters = await queue.dead_letters.entries("sim")
    assert [(e.job.id, e.category, e.attempts) for e in letters] == [("c1", "server", 3)]
    assert letters[0].error == "503 from upstream"


async def test_retry_after_overrides_the_backoff_and_zero_backoff_is_immediate(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """Retry(after_ms=X) waits X; a zero backoff puts the job straight back on its stream."""
    queue = await make_queue(
        clock=manual_clock, policies={"note": RetryPolicy(attempts=5, backoff_ms=(0,))}
    )
    runs: list[int] = []

    async def handle(job: Job) -> Outcome:
        runs.append(job.attempt)
        return Retry() if job.attempt < 3 else Retry(after_ms=700)

    await queue.enqueue(Job("n1", "note", "sim", priority=Priority.SECONDARY))
    async with queue.worker({"note": PerJob(handle)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.rescheduled == 3)
        [(job, due)] = await _delayed(redis, queue.keys.delayed(0))
    assert runs == [1, 2, 3]
    assert (job.attempt, job.priority, due) == (4, Priority.SECONDARY, manual_clock.now_ms() + 700)


async def test_deferrals_never_spend_attempts(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """A job deferred many times keeps its attempt number and is never dead-lettered for it."""
    queue = await make_queue(clock=manual_clock, policies={"note": RetryPolicy(attempts=1)})
    seen: list[int] = []

    async def handle(job: Job) -> Outcome:
        seen.append(job.attempt)
        return Defer(after_ms=250) if len(seen) < 6 else ACK

    await queue.enqueue(Job("d1", "note", "sim"))
    async with queue.worker({"note": PerJob(handle)}, run_mover=False) as worker:
        for round_ in range(1, 6):
            await eventually(lambda r=round_: worker.totals.rescheduled == r)
            [(job, due)] = await _delayed(redis, queue.keys.delayed(0))
            assert (job.attempt, due) == (1, manual_clock.now_ms() + 250)
            manual_clock.advance(250)
            await queue.promote_due()
        await eventually(lambda: worker.totals.acked == 1)
    assert seen == [1] * 6
    assert worker.totals.dead == 0


async def test_errors_map_to_outcomes(make_queue: QueueFactory) -> None:
    """PermanentJobError dead-letters at once with its category; any other exception is a
    retryable `unknown`; an explicit DeadLetter outcome is kept as given."""
    queue = await make_queue(policies={"note": RetryPolicy(attempts=1)})

    async def handle(job: Job) -> Outcome | None:
        if job.id == "perm":
            raise PermanentJobError("validation", "email is invalid")
        if job.id == "boom":
            raise KeyError("missing")
        return DeadLetter("auth", "token revoked")

    await queue.enqueue_many([Job(i, "note", "sim") for i in ("perm", "boom", "auth")])
    async with queue.worker({"note": PerJob(handle)}) as worker:
        await eventually(lambda: worker.totals.dead == 3)
    found = {e.job.id: (e.category, e.error) for e in await queue.dead_letters.entries("sim")}
    assert found == {
        "perm": ("validation", "email is invalid"),
        "boom": (QueueCategory.UNKNOWN, "KeyError: 'missing'"),
        "auth": ("auth", "token revoked"),
    }


async def test_a_job_type_without_handler_is_dead_lettered(make_queue: QueueFactory) -> None:
    """A job nobody handles is dead-lettered as `unknown` (and can be replayed later)."""
    queue = await make_queue()
    await queue.enqueue(Job("x", "mystery", "sim"))
    async with queue.worker({}) as worker:
        await eventually(lambda: worker.totals.dead == 1)
    [entry] = await queue.dead_letters.entries("sim")
    assert entry.category == QueueCategory.UNKNOWN
    assert "mystery" in entry.error


async def test_batch_handler_gets_many_jobs_and_settles_each_from_its_own_outcome(
    make_queue: QueueFactory, redis: Redis, manual_clock: ManualClock
) -> None:
    """A Batched handler receives up to max_batch jobs of its type at once; each job is settled
    by its own outcome; a wrong number of outcomes retries the whole batch."""
    queue = await make_queue(clock=manual_clock, policies={"contact": RetryPolicy(3, (1_000,))})
    sizes: list[int] = []

    async def handle(jobs: Sequence[Job]) -> Sequence[Outcome]:
        sizes.append(len(jobs))
        return [Retry() if int(j.data["i"]) % 10 == 0 else ACK for j in jobs]

    await queue.enqueue_many([Job(f"c{i}", "contact", "sim", {"i": i}) for i in range(50)])
    async with queue.worker({"contact": Batched(handle, max_batch=20)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.acked + worker.totals.rescheduled == 50)
    assert worker.totals.acked == 45
    assert worker.totals.rescheduled == 5
    assert max(sizes) == 20
    assert len(sizes) < 50

    async def short(jobs: Sequence[Job]) -> Sequence[Outcome]:
        return [ACK]

    manual_clock.advance(1_000)
    await queue.promote_due()
    async with queue.worker({"contact": Batched(short)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.rescheduled == 5)
    assert [job.attempt for job, _ in await _delayed(redis, queue.keys.delayed(0))] == [3] * 5


async def test_primary_jobs_run_before_secondary_ones(make_queue: QueueFactory) -> None:
    """With both streams full, a read takes primary jobs first."""
    queue = await make_queue(concurrency=5, read_count=5)
    order: list[Priority] = []

    async def handle(job: Job) -> None:
        order.append(job.priority)

    await queue.enqueue_many(
        [Job(f"s{i}", "note", "sim", priority=Priority.SECONDARY) for i in range(20)]
        + [Job(f"p{i}", "note", "sim") for i in range(20)]
    )
    async with queue.worker({"note": PerJob(handle)}) as worker:
        await eventually(lambda: worker.totals.acked == 40)
    assert order[:20] == [Priority.PRIMARY] * 20


async def test_concurrency_bound_is_never_exceeded(make_queue: QueueFactory) -> None:
    """At most `concurrency` jobs run at once, over all shards of the worker."""
    queue = await make_queue(shards=3, concurrency=7)
    running = 0
    peak = 0

    async def handle(job: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1

    await queue.enqueue_many([Job(f"j{i}", "note", f"s{i % 9}") for i in range(200)])
    async with queue.worker({"note": PerJob(handle)}) as worker:
        await eventually(lambda: worker.totals.acked == 200)
    assert peak == 7


async def test_dead_letter_samples_are_capped_and_newest_first(make_queue: QueueFactory) -> None:
    """A scope keeps at most dead_sample_max samples, newest first, while counts keep the total."""
    queue = await make_queue(dead_sample_max=3)

    async def handle(job: Job) -> Outcome:
        return DeadLetter("conflict", f"dup {job.id}")

    await queue.enqueue_many([Job(f"j{i}", "note", "sim") for i in range(8)])
    async with queue.worker({"note": PerJob(handle)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.dead == 8)
    view = await queue.dead_letters.scope("sim")
    assert view.counts == {"conflict": 8}
    assert len(view.samples) == 3
    assert all(sample["category"] == "conflict" for sample in view.samples)
    assert orjson.loads(orjson.dumps(view.samples[0]))["attempts"] == 1
