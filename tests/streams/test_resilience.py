"""Housekeeping and failures around the queue: idle consumers, bad entries, a Redis restart."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

from streams.handlers import PerJob
from streams.job import Job, Priority
from streams.keys import GROUP
from streams.queue import Queue
from tests.streams.conftest import QueueFactory, eventually
from tests.support.servers import RedisServer


async def test_reaper_forgets_idle_consumers_with_nothing_pending(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """Consumers idle past consumer_gc_ms with no pending entry are removed from the group; one
    that still holds an entry is kept (its entry would become unclaimable otherwise)."""
    queue = await make_queue(consumer_gc_ms=1, visibility_ms=60_000, heartbeat_ms=20_000)
    stream = queue.keys.ready(0, Priority.PRIMARY)
    await redis.xgroup_createconsumer(stream, GROUP, "gone")
    await queue.enqueue(Job("held", "note", "sim"))
    await redis.xreadgroup(GROUP, "holder", {stream: ">"}, count=1)
    await asyncio.sleep(0.01)

    async def handle(job: Job) -> None:
        return None

    worker = queue.worker({"note": PerJob(handle)}, run_mover=False, run_reaper=False)
    await worker.start()
    try:
        await worker.reap()
        names = {bytes(c["name"]).decode() for c in await redis.xinfo_consumers(stream, GROUP)}
    finally:
        await worker.stop()
    assert "gone" not in names
    assert "holder" in names


async def test_an_entry_that_is_not_a_job_is_dropped_and_logged(
    make_queue: QueueFactory, redis: Redis
) -> None:
    """A stream entry that does not decode as a job is acknowledged, deleted and logged as an
    error; the jobs around it run normally."""
    queue = await make_queue()
    stream = queue.keys.ready(0, Priority.PRIMARY)
    await queue.enqueue(Job("before", "note", "sim"))
    await redis.xadd(stream, {"j": b"not a job"})
    await queue.enqueue(Job("after", "note", "sim"))
    ran: list[str] = []

    async def handle(job: Job) -> None:
        ran.append(job.id)

    with capture_logs() as logs:
        async with queue.worker({"note": PerJob(handle)}) as worker:
            await eventually(lambda: worker.totals.acked == 3)
    assert sorted(ran) == ["after", "before"]
    assert await redis.xlen(stream) == 0
    assert any(entry["event"] == "job_payload_invalid" for entry in logs)


async def test_worker_rides_out_a_redis_restart_without_losing_jobs(
    make_queue: QueueFactory, redis_server_factory: Callable[..., RedisServer]
) -> None:
    """Redis (with AOF) is killed and restarted in the middle of a run: the worker logs the
    errors, reconnects, reloads its scripts and finishes; every job runs at least once."""
    server = redis_server_factory(appendonly=True)
    client = Redis.from_url(server.url)
    try:
        queue = await make_queue(client=client, concurrency=10)
        await queue.enqueue_many([Job(f"j{i}", "note", "sim") for i in range(300)])
        runs: Counter[str] = Counter()

        async def handle(job: Job) -> None:
            runs[job.id] += 1
            await asyncio.sleep(0.002)

        async with queue.worker({"note": PerJob(handle)}):
            await eventually(lambda: len(runs) >= 50)
            server.stop(kill=True)
            await asyncio.sleep(0.3)
            server.start()
            await eventually(lambda: len(runs) == 300, within=30)
            await eventually(lambda: _empty(queue), within=30)
        assert min(runs.values()) >= 1
    finally:
        await client.aclose()


async def _empty(queue: Queue) -> bool:
    """Whether every shard is drained; a pooled connection that predates the restart may fail
    once (the client then reconnects), which only means "not known yet"."""
    try:
        return all(s.depth == 0 for s in await queue.stats())
    except RedisConnectionError:
        return False
