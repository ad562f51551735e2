"""The shard count is stored once and checked by every process; a reshard moves ready, pending,
delayed and dead work to the new shards so that every job runs exactly once afterwards."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from redis.asyncio import Redis

from core.clock import ManualClock
from core.lua import Scripts
from streams import reshard as reshard_module
from streams.config import QueueConfig
from streams.errors import ReshardInProgress, ReshardRefused, ShardCountMismatch
from streams.handlers import PerJob
from streams.job import Job, Priority
from streams.keys import GROUP
from streams.outcomes import DeadLetter, Outcome
from streams.queue import Queue
from streams.reshard import reshard
from tests.streams.conftest import FAST, eventually

SCOPES = [f"sim-{n}" for n in range(12)]
NOW = 1_700_000_000_000


def config(prefix: str, shards: int) -> QueueConfig:
    return QueueConfig(**{**FAST, "prefix": prefix, "shards": shards})


async def test_a_second_count_is_refused_naming_both(redis: Redis) -> None:
    """The first process stores its count; one started with another count is refused with both
    numbers and the fix; one with the same count joins."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    first = await Queue(redis, config(prefix, 2)).join("daemon")
    with pytest.raises(ShardCountMismatch) as refused:
        await Queue(redis, config(prefix, 3)).join("api")
    message = str(refused.value)
    assert "has 2 shard(s)" in message and "started with 3" in message
    assert "SIMCRM_QUEUE_SHARDS=2" in message and "simcrm queue reshard 3" in message
    second = await Queue(redis, config(prefix, 2)).join("api")
    assert await redis.zcard(f"{prefix}:queue:members") == 2  # the refused one left again
    await first.leave()
    await second.leave()


async def test_reshard_refuses_while_a_process_uses_the_queue(redis: Redis) -> None:
    """A registered daemon is named and nothing moves; once it left, the reshard runs; while
    a reshard is underway no process may join."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    member = await Queue(redis, config(prefix, 1)).join("daemon")
    with pytest.raises(ReshardRefused, match=r"1 process\(es\) use the queue: daemon:"):
        await reshard(redis, config(prefix, 1), 2)
    assert await redis.get(f"{prefix}:queue:shards") == b"1"
    assert await redis.get(f"{prefix}:queue:reshard") is None
    await member.leave()
    await redis.set(f"{prefix}:queue:reshard", "1:2")
    with pytest.raises(ReshardInProgress, match="from 1 to 2"):
        await Queue(redis, config(prefix, 1)).join("daemon")
    with pytest.raises(ReshardRefused, match="finish it first"):
        await reshard(redis, config(prefix, 1), 3)
    result = await reshard(redis, config(prefix, 1), 2)  # the interrupted one, finished
    assert (result.source, result.target) == (1, 2)
    assert await redis.get(f"{prefix}:queue:shards") == b"2"


async def _dead_letters(queue: Queue, scopes: list[str]) -> int:
    async def die(job: Job) -> Outcome:
        return DeadLetter("validation", f"refused {job.id}")

    jobs = [Job(f"{scope}:dead:{i}", "doomed", scope) for scope in scopes for i in range(2)]
    await queue.enqueue_many(jobs)
    async with queue.worker({"doomed": PerJob(die)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.dead == len(jobs))
    return len(jobs)


async def _hold(redis: Redis, queue: Queue) -> int:
    """Deliver every shard's primary entries to a consumer that then dies: pending entries."""
    held = 0
    for shard in range(queue.keys.shards):
        stream = queue.keys.ready(shard, Priority.PRIMARY)
        got: Any = await redis.xreadgroup(GROUP, "dead-consumer", {stream: ">"}, count=3)
        held += sum(len(entries) for _, entries in got)
    return held


async def test_reshard_moves_live_work_and_every_job_runs_once(redis: Redis) -> None:
    """Ready, pending (held by a dead consumer), delayed and dead work on 2 shards is moved to 3
    and then to 1: afterwards every job runs exactly once, delayed ones when due, and every dead
    letter is still there, with its counts and samples, to replay once."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    clock = ManualClock(NOW)
    old = Queue(redis, config(prefix, 2), clock=clock)
    member = await old.join("daemon")
    await old.open()
    dead = await _dead_letters(old, SCOPES)
    ready = [Job(f"{s}:ready:{i}", "work", s) for s in SCOPES for i in range(3)]
    later = [
        Job(f"{s}:later:{i}", "work", s, priority=Priority.SECONDARY)
        for s in SCOPES
        for i in range(2)
    ]
    await old.enqueue_many(ready)
    await old.enqueue_many([(job, NOW + 60_000) for job in later])
    held = await _hold(redis, old)
    assert held > 0
    samples_before = {s: (await old.dead_letters.scope(s)).samples for s in SCOPES}
    await member.leave()

    first = await reshard(redis, config(prefix, 2), 3)
    assert first.moved > 0 and first.dead > 0 and first.delayed > 0
    second = await reshard(redis, config(prefix, 3), 1)
    assert (second.source, second.target) == (3, 1)
    assert not [k for k in await redis.keys(f"{prefix}:{{q[12]}}*")], "dropped shards are empty"

    new = Queue(redis, config(prefix, 1), clock=clock)
    joined = await new.join("daemon")
    await new.open()
    assert await new.live_count(SCOPES[0]) == 5  # 3 ready + 2 delayed, counted once
    summary = await new.dead_letters.summary()
    assert summary.total == dead and set(summary.scopes) == set(SCOPES)
    for scope in SCOPES:
        assert (await new.dead_letters.scope(scope)).samples == samples_before[scope]

    ran: Counter[str] = Counter()

    async def work(job: Job) -> None:
        ran[job.id] += 1

    async with new.worker({"work": PerJob(work), "doomed": PerJob(work)}) as worker:
        await eventually(lambda: len(ran) == len(ready))
        clock.advance(61_000)
        await eventually(lambda: len(ran) == len(ready) + len(later))
        for scope in SCOPES:
            replayed = await new.dead_letters.replay(scope)
            assert replayed.replayed == 2
        await eventually(lambda: len(ran) == len(ready) + len(later) + dead)
        assert worker.totals.dead == 0
    assert set(ran.values()) == {1}, [job for job, n in ran.items() if n != 1]
    for scope in SCOPES:
        assert await new.live_count(scope) == 0
    await joined.leave()


async def test_an_interrupted_reshard_finishes_without_loss_or_duplicate(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reshard that dies between adding jobs on their new shard and withdrawing them from the
    old one (and between depositing a dead letter and purging it) blocks every process until it
    is run again; the second run finishes the move and every job and dead letter exists once."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    clock = ManualClock(NOW)
    old = Queue(redis, config(prefix, 1), clock=clock)
    await (await old.join("daemon")).leave()
    await old.open()
    dead = await _dead_letters(old, SCOPES)
    jobs = [Job(f"{s}:ready:{i}", "work", s) for s in SCOPES for i in range(2)]
    await old.enqueue_many(jobs)

    calls = 0
    real = reshard_module._Mover._withdraw

    async def dies_midway(self: Any, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise ConnectionError("the operator's laptop went to sleep")
        await real(self, *args)

    monkeypatch.setattr(reshard_module._Mover, "_withdraw", dies_midway)
    with pytest.raises(ConnectionError):
        await reshard(redis, config(prefix, 1), 4)
    monkeypatch.undo()
    with pytest.raises(ReshardInProgress):
        await Queue(redis, config(prefix, 4)).join("daemon")
    purge_real = Scripts.run
    purged = 0

    async def purge_dies(self: Any, name: str, keys: Any, args: Any) -> Any:
        nonlocal purged
        if name == "purge":
            purged += 1
            if purged == 3:
                raise ConnectionError("again")
        return await purge_real(self, name, keys, args)

    monkeypatch.setattr(Scripts, "run", purge_dies)
    with pytest.raises(ConnectionError):
        await reshard(redis, config(prefix, 1), 4)
    monkeypatch.undo()
    await reshard(redis, config(prefix, 1), 4)

    new = Queue(redis, config(prefix, 4), clock=clock)
    await (await new.join("daemon")).leave()
    await new.open()
    summary = await new.dead_letters.summary()
    assert summary.total == dead and all(sum(c.values()) == 2 for c in summary.scopes.values())
    ran: Counter[str] = Counter()

    async def work(job: Job) -> None:
        ran[job.id] += 1

    async with new.worker({"work": PerJob(work)}):
        await eventually(lambda: len(ran) == len(jobs))
    assert set(ran.values()) == {1}
    for scope in SCOPES:
        assert await new.live_count(scope) == 0
