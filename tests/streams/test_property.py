"""Property: any mix of enqueues and outcomes ends with every job done once or dead-lettered."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from core.clock import ManualClock
from streams.config import QueueConfig
from streams.errors import PermanentJobError
from streams.handlers import PerJob
from streams.job import Job, Priority
from streams.outcomes import ACK, Defer, Outcome, QueueCategory, Retry
from streams.queue import Queue
from streams.retry import RetryPolicy
from tests.streams.conftest import FAST

ATTEMPTS = 3
STEP_MS = 500
ACTIONS = ("ok", "retry", "defer", "fail", "crash")


@dataclass(frozen=True)
class Plan:
    """One job: how it is enqueued, and what each of its runs does (then it succeeds)."""

    delay_ms: int | None
    duplicate: bool
    secondary: bool
    runs: tuple[str, ...]

    def expected(self) -> tuple[str, str | None]:
        """The model: ("done", None) or ("dead", category)."""
        attempt = 1
        for action in (*self.runs, "ok"):
            if action == "ok":
                return "done", None
            if action == "fail":
                return "dead", "validation"
            if action in ("retry", "crash"):
                if attempt >= ATTEMPTS:
                    return "dead", "server" if action == "retry" else QueueCategory.UNKNOWN
                attempt += 1
        raise AssertionError("unreachable")


plans = st.builds(
    Plan,
    delay_ms=st.one_of(st.none(), st.integers(min_value=1, max_value=2_000)),
    duplicate=st.booleans(),
    secondary=st.booleans(),
    runs=st.lists(st.sampled_from(ACTIONS), max_size=5).map(tuple),
)


async def _run_scenario(url: str, plan_list: list[Plan]) -> None:
    client = Redis.from_url(url)
    clock = ManualClock()
    config = QueueConfig(**{**FAST, "prefix": f"prop{uuid.uuid4().hex[:8]}", "shards": 2})
    policy = RetryPolicy(ATTEMPTS, (100, 400))
    queue = Queue(client, config, policies={"job": policy}, clock=clock)
    runs: Counter[str] = Counter()
    done: Counter[str] = Counter()
    jobs = {
        f"j{i}": Job(
            f"j{i}",
            "job",
            f"scope-{i % 3}",
            {"i": i},
            Priority.SECONDARY if plan.secondary else Priority.PRIMARY,
        )
        for i, plan in enumerate(plan_list)
    }
    by_id = dict(zip(jobs, plan_list, strict=True))

    async def handle(job: Job) -> Outcome:
        step = runs[job.id]
        runs[job.id] += 1
        plan = by_id[job.id]
        action = plan.runs[step] if step < len(plan.runs) else "ok"
        if action == "ok":
            done[job.id] += 1
        return _outcome(action)

    try:
        await queue.open()
        now = clock.now_ms()
        items: list[Job | tuple[Job, int | None]] = []
        for job_id, job in jobs.items():
            plan = by_id[job_id]
            due = None if plan.delay_ms is None else now + plan.delay_ms
            items.append((job, due))
            if plan.duplicate:
                items.append((job, due))
        assert await queue.enqueue_many(items) == len(jobs)
        async with queue.worker({"job": PerJob(handle)}, run_mover=False, run_reaper=False):
            for _ in range(60):
                await queue.promote_due()
                await _wait_ready_streams_empty(queue)
                if all(s.depth == 0 for s in await queue.stats()):
                    break
                clock.advance(STEP_MS)
        dead = await _dead_letters(queue)
        for job_id, plan in by_id.items():
            state, category = plan.expected()
            if state == "done":
                assert done[job_id] == 1, (job_id, plan, done[job_id])
                assert job_id not in dead
            else:
                assert done[job_id] == 0, (job_id, plan)
                assert dead.get(job_id) == category, (job_id, plan, dead.get(job_id))
        assert all(s.depth == 0 for s in await queue.stats())
        for shard in range(config.shards):
            assert [k async for k in client.scan_iter(queue.keys.ids_pattern(shard))] == []
    finally:
        await queue.close()
        await client.aclose()


def _outcome(action: str) -> Outcome:
    """What a run does for each planned action ("crash" raises, like a handler bug)."""
    if action == "ok":
        return ACK
    if action == "retry":
        return Retry(category="server", error="retry")
    if action == "defer":
        return Defer(after_ms=200)
    if action == "fail":
        raise PermanentJobError("validation", "bad")
    raise RuntimeError("crash")


async def _dead_letters(queue: Queue) -> dict[str, str]:
    """Every dead letter's job id and category; fails if a job is dead-lettered twice."""
    dead: dict[str, str] = {}
    for scope in (await queue.dead_letters.summary()).scopes:
        for entry in await queue.dead_letters.entries(scope, limit=1_000):
            assert entry.job.id not in dead, "dead-lettered twice"
            dead[entry.job.id] = entry.category
    return dead


async def _wait_ready_streams_empty(queue: Queue) -> None:
    for _ in range(500):
        stats = await queue.stats()
        if all(s.waiting + s.pending == 0 for shard in stats for s in shard.streams.values()):
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the worker did not drain the ready streams")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan_list=st.lists(plans, min_size=1, max_size=12))
def test_every_job_is_done_exactly_once_or_dead_lettered(
    redis_url: str, plan_list: list[Plan]
) -> None:
    """For any mix of ready, delayed and duplicate enqueues and any sequence of success, retry,
    deferral, permanent failure and crash, each job ends done exactly once or dead-lettered once
    with the category its last failure implies, nothing is lost, and the queue is left empty."""
    asyncio.run(_run_scenario(redis_url, plan_list))
