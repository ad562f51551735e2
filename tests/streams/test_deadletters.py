"""Dead letters: counts, samples, summary, replay (dry run, limit, cap, attempts) and purge."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from streams.handlers import PerJob
from streams.job import Job, Priority
from streams.outcomes import DeadLetter, Outcome, Retry
from streams.queue import Queue
from streams.retry import RetryPolicy
from tests.streams.conftest import QueueFactory, eventually

CATEGORIES = ["auth", "validation", "server"]


async def _fill(queue: Queue, scope: str, per_category: int) -> None:
    """Dead-letter `per_category` jobs of `scope` in each of CATEGORIES."""

    async def fail(job: Job) -> Outcome:
        return DeadLetter(str(job.data["category"]), f"failed {job.id}")

    jobs = [
        Job(f"{scope}:{c}:{i}", "contact", scope, {"category": c})
        for c in CATEGORIES
        for i in range(per_category)
    ]
    await queue.enqueue_many(jobs)
    async with queue.worker({"contact": PerJob(fail)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.dead == len(jobs))


async def _ready(redis: Redis, queue: Queue, scope: str) -> int:
    shard = queue.keys.shard_of(scope)
    return int(await redis.xlen(queue.keys.ready(shard, Priority.PRIMARY)))


async def test_counts_and_summary_cover_every_scope(make_queue: QueueFactory) -> None:
    """Per-scope category counts match what was dead-lettered; the summary adds them up across
    scopes and shards."""
    queue = await make_queue(shards=3)
    await _fill(queue, "sim-a", 2)
    await _fill(queue, "sim-b", 1)
    assert (await queue.dead_letters.scope("sim-a")).counts == {
        "auth": 2, "validation": 2, "server": 2,
    }  # fmt: skip
    summary = await queue.dead_letters.summary()
    assert summary.total == 9
    assert summary.by_category == {"auth": 3, "validation": 3, "server": 3}
    assert set(summary.scopes) == {"sim-a", "sim-b"}


async def test_replay_dry_run_moves_nothing(make_queue: QueueFactory, redis: Redis) -> None:
    """A dry run reports the selection by category and leaves every dead letter in place."""
    queue = await make_queue()
    await _fill(queue, "sim", 3)
    result = await queue.dead_letters.replay(
        "sim", categories=["auth", "server"], dry_run=True, limit=2
    )
    assert result.dry_run
    assert result.selected == {"auth": 3, "server": 3}
    assert (result.replayed, result.selected_total) == (0, 6)
    assert (await queue.dead_letters.scope("sim")).total == 9
    assert await redis.xlen(queue.keys.dead(0)) == 9
    assert await _ready(redis, queue, "sim") == 0


async def test_replay_respects_the_limit_and_the_cap(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """A replay moves at most `limit` dead letters (never more than replay_limit_cap), of the
    chosen categories only, oldest first, and counts follow; a category no dead letter carries
    selects nothing, and a name that cannot be a category is refused."""
    queue = await make_queue(replay_limit_cap=4)
    await _fill(queue, "sim", 5)
    result = await queue.dead_letters.replay("sim", categories=["validation"], limit=2)
    assert (result.replayed, result.limit) == (2, 2)
    assert await _ready(redis, queue, "sim") == 2
    assert (await queue.dead_letters.scope("sim")).counts["validation"] == 3
    capped = await queue.dead_letters.replay("sim", limit=100)
    assert (capped.replayed, capped.limit) == (4, 4)
    assert (await queue.dead_letters.scope("sim")).total == 15 - 6
    unmatched = await queue.dead_letters.replay("sim", categories=["bogus"])
    assert (unmatched.selected_total, unmatched.replayed) == (0, 0)
    with pytest.raises(ValueError, match="categories"):
        await queue.dead_letters.replay("sim", categories=["Not a category!"])


async def test_replayed_jobs_get_one_attempt_or_the_full_policy(make_queue: QueueFactory) -> None:
    """By default a replayed job runs once more and returns to the dead letters on failure;
    with full_retry it gets the type's whole retry profile."""
    queue = await make_queue(policies={"contact": RetryPolicy(attempts=3, backoff_ms=(0,))})
    await queue.enqueue(Job("once", "contact", "sim"))
    attempts: list[tuple[str, int]] = []

    async def always_fail(job: Job) -> Outcome:
        attempts.append((job.id, job.attempt))
        return Retry(category="server", error="still down")

    async with queue.worker({"contact": PerJob(always_fail)}) as worker:
        await eventually(lambda: worker.totals.dead == 1)
        attempts.clear()
        assert (await queue.dead_letters.replay("sim")).replayed == 1
        await eventually(lambda: worker.totals.dead == 2)
        assert attempts == [("once", 1)]
        attempts.clear()
        assert (await queue.dead_letters.replay("sim", full_retry=True)).replayed == 1
        await eventually(lambda: worker.totals.dead == 3)
        assert attempts == [("once", 1), ("once", 2), ("once", 3)]
    [letter] = await queue.dead_letters.entries("sim")
    assert letter.attempts == 3


async def test_the_queue_names_the_last_attempt_it_settles_as_dead(
    make_queue: QueueFactory,
) -> None:
    """`Queue.is_last_attempt` holds exactly on the attempt whose Retry is dead-lettered: the
    type's last attempt, and the single attempt of a replayed job. A handler that counts its
    failures by it agrees with what the queue does."""
    queue = await make_queue(policies={"contact": RetryPolicy(attempts=3, backoff_ms=(0,))})
    await queue.enqueue(Job("j", "contact", "sim"))
    seen: list[tuple[int, bool]] = []

    async def always_fail(job: Job) -> Outcome:
        seen.append((job.attempt, queue.is_last_attempt(job)))
        return Retry(category="server", error="still down")

    async with queue.worker({"contact": PerJob(always_fail)}) as worker:
        await eventually(lambda: worker.totals.dead == 1)
        assert seen == [(1, False), (2, False), (3, True)]
        seen.clear()
        assert (await queue.dead_letters.replay("sim")).replayed == 1
        await eventually(lambda: worker.totals.dead == 2)
    assert seen == [(1, True)]


async def test_concurrent_replays_never_enqueue_a_dead_letter_twice(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """Five replays racing over the same dead letters re-enqueue each one exactly once."""
    queue = await make_queue()
    await _fill(queue, "sim", 4)
    results = await asyncio.gather(*(queue.dead_letters.replay("sim") for _ in range(5)))
    assert sum(r.replayed + r.already_live for r in results) == 12
    assert await _ready(redis, queue, "sim") == 12
    assert (await queue.dead_letters.scope("sim")).total == 0
    assert (await queue.dead_letters.summary()).total == 0


async def test_replay_skips_jobs_that_are_live_again(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """A dead letter whose job id was enqueued again meanwhile leaves the dead letters without
    creating a second copy of the job."""
    queue = await make_queue()
    await _fill(queue, "sim", 1)
    await queue.enqueue(Job("sim:auth:0", "contact", "sim", {"category": "auth"}))
    result = await queue.dead_letters.replay("sim")
    assert (result.replayed, result.already_live) == (2, 1)
    assert await _ready(redis, queue, "sim") == 3


async def test_purge_deletes_chosen_dead_letters_only(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """Purging categories removes only those; purging everything also clears the samples."""
    queue = await make_queue(shards=2)
    await _fill(queue, "sim-a", 2)
    await _fill(queue, "sim-b", 2)
    assert await queue.dead_letters.purge("sim-a", categories=["auth"]) == 2
    assert (await queue.dead_letters.scope("sim-a")).counts == {"validation": 2, "server": 2}
    assert await queue.dead_letters.purge("sim-a") == 4
    view = await queue.dead_letters.scope("sim-a")
    assert (view.total, view.samples) == (0, ())
    assert (await queue.dead_letters.summary()).scopes.keys() == {"sim-b"}
