"""Redis Cluster: every script's keys share one slot, and a whole cycle works on 3 masters."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from core.lua import Scripts, lua_folder, read_scripts
from streams.handlers import PerJob
from streams.job import Job, Priority
from streams.keys import GROUP
from streams.outcomes import ACK, DeadLetter, Outcome
from streams.queue import Queue
from streams.reshard import reshard
from tests.streams.conftest import QueueFactory, eventually
from tests.support.servers import RedisClusterServers

Call = tuple[str, list[str]]


def _record_calls(queue: Queue) -> list[Call]:
    """Wrap the queue's script runner so every call's (script, keys) is recorded."""
    calls: list[Call] = []
    scripts = queue.scripts
    run, run_many = scripts.run, scripts.run_many

    async def recording_run(name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        calls.append((name, list(keys)))
        return await run(name, keys, args)

    async def recording_run_many(batch: Sequence[tuple[str, Sequence[str], Sequence[Any]]]) -> Any:
        calls.extend((name, list(keys)) for name, keys, _ in batch)
        return await run_many(batch)

    scripts.run = recording_run  # type: ignore[method-assign]
    scripts.run_many = recording_run_many  # type: ignore[method-assign,assignment]
    return calls


async def _full_cycle(queue: Queue, scopes: Sequence[str]) -> list[Call]:
    """Enqueue (now and delayed), run with every outcome, heartbeat, release, replay and purge;
    returns every script call made, as (script, keys)."""
    calls = _record_calls(queue)
    now = queue.clock.now_ms()
    jobs = [
        Job(
            f"{scope}:{i}",
            "note",
            scope,
            {"i": i},
            Priority.SECONDARY if i % 2 else Priority.PRIMARY,
        )
        for scope in scopes
        for i in range(6)
    ]
    await queue.enqueue_many(
        [*jobs[: len(jobs) // 2], *[(j, now + 30) for j in jobs[len(jobs) // 2 :]]]
    )
    hang = asyncio.Event()

    async def handle(job: Job) -> Outcome:
        kind = int(job.data["i"]) % 3
        if job.id.endswith(":5") and not hang.is_set():
            hang.set()
            await asyncio.sleep(3600)  # cancelled by stop(): exercises release
        if kind == 0 and job.max_attempts is None:  # a replayed job (one attempt) succeeds
            return DeadLetter("validation", "bad")
        return ACK

    worker = queue.worker({"note": PerJob(handle)})
    await worker.start()
    await eventually(lambda: worker.totals.dead == 2 * len(scopes) and hang.is_set())
    renewed = len(calls)
    await eventually(lambda: any(name == "heartbeat" for name, _ in calls[renewed:]))
    await worker.stop(grace_ms=50)
    async with queue.worker({"note": PerJob(handle)}) as second:
        await eventually(lambda: second.totals.acked >= 1)
        for scope in scopes:
            dry = await queue.dead_letters.replay(scope, dry_run=True)
            assert dry.selected == {"validation": 2}
            assert (await queue.dead_letters.replay(scope, limit=1)).replayed == 1
        await eventually(lambda: _settled_all(queue))
    for scope in scopes:
        assert await queue.dead_letters.purge(scope) == 1
    assert (await queue.dead_letters.summary()).total == 0
    return calls


async def _settled_all(queue: Queue) -> bool:
    return all(s.depth == 0 for s in await queue.stats())


async def _reshard_cycle(
    queue: Queue, target: int, monkeypatch: pytest.MonkeyPatch, calls: list[Call]
) -> None:
    """Leave ready, delayed and dead work on ``queue``, move it to ``target`` shards (recording
    every script call), and run it all there exactly once."""
    scopes = [f"sim-{n}" for n in range(8)]

    async def die(job: Job) -> Outcome:
        return DeadLetter("server", "down")

    await queue.enqueue_many([Job(f"{s}:d", "doomed", s) for s in scopes])
    async with queue.worker({"doomed": PerJob(die)}, run_mover=False) as worker:
        await eventually(lambda: worker.totals.dead == len(scopes))
    await queue.enqueue_many([Job(f"{s}:r", "work", s) for s in scopes])
    await queue.enqueue_many(
        [(Job(f"{s}:l", "work", s), queue.clock.now_ms() + 300) for s in scopes]
    )
    run = Scripts.run

    async def recording(self: Scripts, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        calls.append((name, list(keys)))
        return await run(self, name, keys, args)

    with monkeypatch.context() as patched:
        patched.setattr(Scripts, "run", recording)
        result = await reshard(queue.client, queue.config, target)
    assert result.moved > 0
    moved = Queue(queue.client, replace(queue.config, shards=target))
    await moved.open()
    ran: Counter[str] = Counter()

    async def work(job: Job) -> Outcome:
        ran[job.id] += 1
        return ACK

    async with moved.worker({"work": PerJob(work), "doomed": PerJob(work)}):
        await eventually(lambda: len(ran) == 2 * len(scopes))
        for scope in scopes:
            assert (await moved.dead_letters.replay(scope)).replayed == 1
        await eventually(lambda: len(ran) == 3 * len(scopes))
    assert set(ran.values()) == {1}
    await moved.close()


async def test_every_script_call_keeps_its_keys_in_one_slot(
    make_queue: QueueFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a full cycle and a reshard every script is called, and each call's keys hash (CRC16)
    to one slot."""
    queue = await make_queue(shards=4)
    calls = await _full_cycle(queue, ["sim-a", "sim-b", "sim-c"])
    await _reshard_cycle(queue, 7, monkeypatch, calls)
    assert set(read_scripts(lua_folder("streams"))) - {name for name, _ in calls} == set()
    for name, keys in calls:
        assert len({key_slot(key.encode()) for key in keys}) == 1, (name, keys)


@pytest.fixture
async def cluster_client(redis_cluster: RedisClusterServers) -> AsyncIterator[RedisCluster]:
    """A client of the shared test cluster; every key written through it is deleted after."""
    client = RedisCluster.from_url(redis_cluster.url)
    await client.initialize()
    yield client
    await client.aclose()
    for node in redis_cluster.nodes:
        node_client = Redis.from_url(node.url)
        await node_client.flushall()
        await node_client.aclose()


async def test_cluster_slots_agree_with_crc16(
    make_queue: QueueFactory, cluster_client: RedisCluster
) -> None:
    """The server's CLUSTER KEYSLOT agrees: each script call's keys sit in one slot, and the
    shards spread over more than one master."""
    queue = await make_queue(shards=8)
    calls = await _full_cycle(queue, ["sim-a", "sim-b"])
    for name, keys in calls:
        slots = {await cluster_client.cluster_keyslot(key) for key in keys}
        assert len(slots) == 1, (name, keys)
    nodes = {str(cluster_client.get_node_from_key(queue.keys.delayed(k))) for k in range(8)}
    assert len(nodes) > 1


async def test_reshard_on_a_cluster(
    make_queue: QueueFactory, cluster_client: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a 3-master cluster a reshard from 2 to 5 shards moves ready, delayed and dead work,
    each script call in one slot, and every job runs once afterwards."""
    queue = await make_queue(client=cluster_client, shards=2)
    calls: list[Call] = []
    await _reshard_cycle(queue, 5, monkeypatch, calls)
    for name, keys in calls:
        slots = {await cluster_client.cluster_keyslot(key) for key in keys}
        assert len(slots) == 1, (name, keys)


async def test_whole_cycle_on_a_cluster(
    make_queue: QueueFactory, cluster_client: RedisCluster, redis: Redis
) -> None:
    """On a 3-master cluster: enqueue → process → dead-letter → replay → process, plus release
    on shutdown and reclaim, leaves every job done and nothing pending."""
    queue = await make_queue(client=cluster_client, shards=6)
    await _full_cycle(queue, ["sim-1", "sim-2", "sim-3", "sim-4"])
    for shard in range(6):
        for stream in queue.keys.streams(shard):
            assert (await cluster_client.xpending(stream, GROUP))["pending"] == 0
