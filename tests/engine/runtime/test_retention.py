"""A finished simulation's Redis state does not stay forever: it keeps what a replay needs for
the retention (SIMCRM_RETENTION_HOURS), its counters already in the database, and then it is
gone — dead letters too. A complete cleanup removes it at once."""

from __future__ import annotations

from redis.asyncio import Redis

from core.clock import ManualClock, SystemClock
from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.runtime.replay import replay_dead_letters
from engine.runtime.retention import SWEEP_MS
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue
from tests.engine.runtime.harness import (
    create_simulation,
    daemon_env,
    drive,
    runtime_settings,
    seen_status,
    simulations,
    start_engine,
    wait_for_status,
)
from tests.engine.runtime.test_cleanup_and_demo import simcrm

SECOND_MS = 1_000
RETENTION_MS = 168 * 3_600_000  # the default: a week
REPLAY_NEEDS = ("ids", "planned", "metrics", "incarnation")  # what a replayed job reads


async def present(redis: Redis, keys: SimKeys) -> dict[str, int]:
    """The simulation's keys that exist, each with its time to live in ms (-1: none)."""
    found = {}
    for key in keys.all():
        ttl = await redis.pttl(key)
        if ttl != -2:
            found[key.rsplit(":", 1)[1]] = ttl
    return found


async def dead_total(queue: Queue, sim_id: int) -> int:
    return (await queue.dead_letters.scope(str(sim_id))).total


async def durable_equals_live(store: Store, redis: Redis, keys: SimKeys) -> None:
    live = await metrics.read(redis, keys)
    assert live, "no live counts to compare"
    assert await store.counters.get(keys.sim_id) == live


async def test_completed_run_keeps_replay_state_for_the_retention_then_forgets_it(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """After a run completes with dead letters, its counters reach the database and every key it
    left expires a week after it ended — the recorded ids, planned bitmap and counters stay until
    then, and so do its dead letters, for a replay. Once the week is over on the engine's clock,
    nothing of it is left in Redis."""
    sandbox.reconfigure(denied_types=(ObjectType.TICKET,))  # tickets fail for good: dead letters
    row = await create_simulation(runtime_store, total_records=150)
    clock = ManualClock(SystemClock().now_ms())
    settings = runtime_settings(sandbox)
    queue = Queue(redis, settings.queue_config())
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    running = await start_engine(settings, redis_url, database_file, clock=clock)
    try:

        async def completed() -> bool:
            status = (await runtime_store.simulations.get(row.id)).status
            return status is SimulationStatus.COMPLETED

        await drive(running.engine, completed, step_ms=SECOND_MS)

        async def all_expiring() -> bool:
            return all(ttl > 0 for ttl in (await present(redis, keys)).values())

        await drive(running.engine, all_expiring, step_ms=SWEEP_MS // 4)
        kept = await present(redis, keys)
        assert set(REPLAY_NEEDS) <= set(kept), kept
        for name, ttl in kept.items():
            assert RETENTION_MS - 600_000 < ttl <= RETENTION_MS, (name, ttl)
        assert await dead_total(queue, row.id) > 0, "no dead letters: the test proves nothing"
        await durable_equals_live(runtime_store, redis, keys)

        # A replay within the retention runs the simulation again: its keys lose their expiry
        # while the replayed jobs run, and get it back once it has completed again.
        ended = await runtime_store.simulations.get(row.id)
        replayed = await replay_dead_letters(
            redis, queue, simulations(runtime_store), keys, ended, dry_run=False, limit=1
        )
        assert replayed.replayed == 1
        assert (await runtime_store.simulations.get(row.id)).status is SimulationStatus.RUNNING
        during = await present(redis, keys)
        assert all(during[name] == -1 for name in REPLAY_NEEDS), during
        await drive(running.engine, completed, step_ms=SECOND_MS)
        await drive(running.engine, all_expiring, step_ms=SWEEP_MS // 4)

        clock.advance(RETENTION_MS)

        async def forgotten() -> bool:
            return not await present(redis, keys) and not await dead_total(queue, row.id)

        await drive(running.engine, forgotten, step_ms=SWEEP_MS // 4)
    finally:
        await running.stop()
    counts = await runtime_store.counters.get(row.id)
    assert counts["contact"]["created"] == 150  # the database keeps what Redis forgot
    assert counts["ticket"]["dead"] > 0


async def test_cancelled_run_leaves_only_expiring_keys(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """A run cancelled half-way drops its queued jobs (counted as skipped); every key it leaves
    then carries the retention's expiry, none lives forever, and the database holds the same
    counts as Redis."""
    window_s = 12
    row = await create_simulation(
        runtime_store, total_records=400, backfill=False, time_scale=7 * 24 * 3600 / window_s
    )
    clock = ManualClock(SystemClock().now_ms())
    settings = runtime_settings(sandbox)
    queue = Queue(redis, settings.queue_config())
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    running = await start_engine(settings, redis_url, database_file, clock=clock)
    try:

        async def started() -> bool:
            return (await runtime_store.counters.get(row.id)).get("contact", {}).get(
                "created", 0
            ) >= 50

        await drive(running.engine, started, step_ms=SECOND_MS // 2)
        await simulations(runtime_store).cancel(row.id)

        async def drained() -> bool:
            cancelled = seen_status(running.engine, row.id) is SimulationStatus.CANCELLED
            return cancelled and not await queue.live_count(str(row.id))

        await drive(running.engine, drained, step_ms=SECOND_MS)

        async def all_expiring() -> bool:
            found = await present(redis, keys)
            return bool(found) and all(ttl > 0 for ttl in found.values())

        await drive(running.engine, all_expiring, step_ms=SWEEP_MS // 4)
    finally:
        await running.stop()
    for name, ttl in (await present(redis, keys)).items():
        assert 0 < ttl <= RETENTION_MS, (name, ttl)
    live = await metrics.read(redis, keys)
    assert metrics.total(live, metrics.Metric.SKIPPED) > 0, "nothing was cut short"
    await durable_equals_live(runtime_store, redis, keys)


async def test_cleanup_removes_the_simulations_redis_state(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """`simcrm cleanup` that archived everything leaves no key and no dead letter of the
    simulation in Redis; its counters stay in the database."""
    sandbox.reconfigure(denied_types=(ObjectType.TICKET,))
    row = await create_simulation(runtime_store, total_records=150)
    settings = runtime_settings(sandbox)
    queue = Queue(redis, settings.queue_config())
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    running = await start_engine(settings, redis_url, database_file)
    try:
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 90, redis_url)
    finally:
        await running.stop()
    assert await dead_total(queue, row.id) > 0
    assert await present(redis, keys)
    code, out = await simcrm(
        "cleanup", str(row.id), "--yes", env=daemon_env(settings, redis_url, database_file)
    )
    assert code == 0, out
    assert await present(redis, keys) == {}
    assert await dead_total(queue, row.id) == 0
    assert not await redis.xlen(queue.keys.dead(queue.keys.shard_of(str(row.id))))
    counts = await runtime_store.counters.get(row.id)
    assert counts["contact"]["created"] == 150
