"""Per-scope live counts: exactly how many of a scope's jobs are waiting, delayed or running."""

from __future__ import annotations

from streams.handlers import PerJob
from streams.job import Job
from streams.outcomes import DeadLetter, Defer, Outcome, Retry
from streams.retry import RetryPolicy
from tests.streams.conftest import QueueFactory, eventually


async def test_live_count_follows_every_path(make_queue: QueueFactory) -> None:
    """Enqueues (duplicates included) count once; done and dead jobs stop counting, deferred
    and retried ones keep counting until they end; a replay counts again; scopes are apart."""
    queue = await make_queue(shards=2, policies={"t": RetryPolicy(3, (0,))})
    jobs = [Job(f"a:{i}", "t", "sim-a", {"i": i}) for i in range(30)]
    await queue.enqueue_many([*jobs, *jobs[:10], Job("b:0", "t", "sim-b")])
    assert await queue.live_count("sim-a") == 30
    assert await queue.live_count("sim-b") == 1
    assert await queue.live_count("sim-c") == 0
    runs: dict[str, int] = {}

    async def handle(job: Job) -> Outcome | None:
        runs[job.id] = runs.get(job.id, 0) + 1
        i = int(job.data.get("i", 0))
        if job.scope == "sim-a" and i % 3 == 1:
            return DeadLetter("validation", "bad")
        if job.scope == "sim-a" and i % 3 == 2 and runs[job.id] == 1:
            return Defer(10) if i % 2 else Retry(0, "server", "blip")
        return None

    async with queue.worker({"t": PerJob(handle)}) as worker:
        await eventually(lambda: worker.totals.acked + worker.totals.dead == 31)
    assert await queue.live_count("sim-a") == 0
    assert await queue.live_count("sim-b") == 0
    replay = await queue.dead_letters.replay("sim-a", limit=4)
    assert replay.replayed == 4
    assert await queue.live_count("sim-a") == 4
