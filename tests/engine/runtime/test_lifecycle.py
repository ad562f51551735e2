"""Pause, resume and cancel act within a second; a time-scaled run keeps to its schedule.

Pause and cancel run the engine on a manual clock the tests step: they see the change reach the
engine within a second of its clock, then run the clock through the rest of the window, which
makes every queued job due, and check that none of them reached the CRM."""

from __future__ import annotations

from redis.asyncio import Redis

from core.clock import ManualClock, SystemClock
from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.model import SimulationModel, SimulationSpec
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from sandbox import Sandbox, SandboxConfig
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    RunningEngine,
    create_simulation,
    drive,
    expected_objects,
    runtime_settings,
    seen_status,
    simulations,
    start_engine,
    stored_keys,
)

WINDOW_DAYS = 7
SECOND_MS = 1_000


def created(sandbox: Sandbox) -> int:
    return sum(len(sandbox.objects(t)) for t in ObjectType)


async def reaches_engine(running: RunningEngine, sim_id: int, status: SimulationStatus) -> int:
    """Step the clock until the engine sees ``status``; the clock time that took, in ms."""
    before = running.engine.clock.now_ms()
    await drive(running.engine, lambda: seen_status(running.engine, sim_id) is status)
    return running.engine.clock.now_ms() - before


async def test_pause_stops_creation_and_resume_finishes(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """A pause reaches the engine within a second of its clock; from then on nothing new
    reaches the CRM, even as the clock runs past the window's end; after resume the run
    completes with exactly the plan."""
    clock = ManualClock(SystemClock().now_ms())
    window_s = 12  # the 7-day window plays in 12 seconds of the engine's clock
    row = await create_simulation(
        runtime_store,
        total_records=400,
        backfill=False,
        time_scale=60 * 60 * 24 * WINDOW_DAYS / window_s,
    )
    assert row.started_at is not None
    window_end_ms = int(row.started_at.timestamp() * 1000) + window_s * SECOND_MS
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file, clock=clock)
    try:
        await drive(running.engine, lambda: created(sandbox) >= 100, step_ms=SECOND_MS // 2)
        await simulations(runtime_store).pause(row.id)
        assert await reaches_engine(running, row.id, SimulationStatus.PAUSED) <= SECOND_MS
        paused_at = created(sandbox)
        assert await running.engine.queue.live_count(str(row.id)), "no work left to hold back"
        past_the_end = window_end_ms + SECOND_MS
        await drive(running.engine, lambda: clock.now_ms() > past_the_end, step_ms=SECOND_MS)
        assert created(sandbox) == paused_at
        await simulations(runtime_store).resume(row.id)

        async def completed() -> bool:
            status = (await runtime_store.simulations.get(row.id)).status
            return status is SimulationStatus.COMPLETED

        await drive(running.engine, completed, step_ms=SECOND_MS)
        done = await runtime_store.simulations.get(row.id)
    finally:
        await running.stop()
    stored = stored_keys(sandbox)
    for object_type, keys in expected_objects(done).items():
        assert set(stored[object_type]) == keys, object_type


async def test_cancel_stops_everything(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """A cancel reaches the engine within a second of its clock; from then on nothing more
    arrives in the CRM while every job left comes due and is skipped (and counted so)."""
    clock = ManualClock(SystemClock().now_ms())
    row = await create_simulation(
        runtime_store,
        total_records=400,
        backfill=False,
        time_scale=60 * 60 * 24 * WINDOW_DAYS / 10,
    )
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file, clock=clock)
    queue = running.engine.queue
    try:
        await drive(running.engine, lambda: created(sandbox) >= 100, step_ms=SECOND_MS // 2)
        await simulations(runtime_store).cancel(row.id)
        assert await reaches_engine(running, row.id, SimulationStatus.CANCELLED) <= SECOND_MS
        after_cancel = created(sandbox)
        assert await queue.live_count(str(row.id)), "no work left to skip"

        async def nothing_left() -> bool:
            return await queue.live_count(str(row.id)) == 0

        await drive(running.engine, nothing_left, step_ms=SECOND_MS)
        assert created(sandbox) == after_cancel
    finally:
        await running.stop()
    assert (await runtime_store.simulations.get(row.id)).status is SimulationStatus.CANCELLED
    counts = await metrics.read(redis, SimKeys(row.id, DEFAULT_KEY_PREFIX))
    skipped = sum(by.get("skipped", 0) for by in counts.values())
    assert skipped > 0, "jobs that come due after the cancel are skipped"
    assert counts["contact"].get("created", 0) < 400


async def test_time_scaled_records_arrive_on_time(
    runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """At time_scale 3600 over a 2-hour window, each contact reaches the CRM within 1 s of its
    scheduled moment at the 99th percentile, and none before it. The engine and the sandbox share
    one manual clock, stepped 100 ms at a time, so lateness is the engine's own (its expansion,
    lingering and batching), not how busy the machine running the test is."""
    clock = ManualClock(SystemClock().now_ms())
    row = await create_simulation(
        runtime_store,
        total_records=300,
        backfill=False,
        time_scale=3600,
        start_time="2026-01-05T09:00:00Z",
        end_time="2026-01-05T11:00:00Z",
        distribution_method="uniform",
    )
    config = SandboxConfig(tier=250, daily_limit=0, search_lag_ms=200)
    async with Sandbox(config, clock=clock.now_ms) as sandbox:
        running = await start_engine(
            runtime_settings(sandbox), redis_url, database_file, clock=clock
        )
        try:
            await drive(
                running.engine,
                lambda: seen_status(running.engine, row.id) is SimulationStatus.COMPLETED,
                step_ms=100,
                timeout_s=120,
            )
        finally:
            await running.stop()
        done = await runtime_store.simulations.get(row.id)
        assert done.started_at is not None
        anchor = int(done.started_at.timestamp() * 1000)
        model = SimulationModel(SimulationSpec.from_row(done))
        lateness = []
        for obj in sandbox.objects(ObjectType.CONTACT):
            index = int(obj.properties["simcrm_record_index"])
            due = anchor + (model.time_of(index) - model.spec.start_ms) / 3600
            lateness.append(obj.received_at_ms - due)
    lateness.sort()
    assert len(lateness) == 300
    p99 = lateness[int(len(lateness) * 0.99) - 1]
    assert p99 < 1_000, f"p99 lateness {p99:.0f} ms"
    assert lateness[0] > -50, "a record was created before its moment"
