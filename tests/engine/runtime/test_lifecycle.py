"""Pause, resume and cancel act within a second; a time-scaled run keeps to its schedule."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from engine.crm import ObjectType
from engine.model import SimulationModel, SimulationSpec
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    expected_objects,
    runtime_settings,
    simulations,
    start_engine,
    stored_keys,
    wait_for_status,
    wait_until,
)


def created(sandbox: Sandbox) -> int:
    return sum(len(sandbox.objects(t)) for t in ObjectType)


async def test_pause_stops_creation_and_resume_finishes(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """After a pause nothing new reaches the CRM once a second has passed; after resume the run
    completes with exactly the plan."""
    row = await create_simulation(
        runtime_store,
        total_records=400,
        backfill=False,
        time_scale=60 * 60 * 24 * 7 / 12,  # the 7-day window plays in 12 seconds
    )
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file)
    try:
        await wait_until(lambda: created(sandbox) >= 100, 30)
        await simulations(runtime_store).pause(row.id)
        await asyncio.sleep(1.0)
        paused_at = created(sandbox)
        await asyncio.sleep(2.0)
        assert created(sandbox) == paused_at
        await simulations(runtime_store).resume(row.id)
        done = await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60)
    finally:
        await running.stop()
    stored = stored_keys(sandbox)
    for object_type, keys in expected_objects(done).items():
        assert set(stored[object_type]) == keys, object_type


async def test_cancel_stops_everything(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """After a cancel nothing more arrives in the CRM, and the skipped jobs are counted."""
    row = await create_simulation(
        runtime_store, total_records=400, backfill=False, time_scale=60 * 60 * 24 * 7 / 10
    )
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file)
    try:
        await wait_until(lambda: created(sandbox) >= 100, 30)
        await simulations(runtime_store).cancel(row.id)
        await asyncio.sleep(1.0)
        after_cancel = created(sandbox)
        await asyncio.sleep(3.0)
        assert created(sandbox) == after_cancel
    finally:
        await running.stop()
    assert (await runtime_store.simulations.get(row.id)).status is SimulationStatus.CANCELLED
    counts = await metrics.read(redis, SimKeys(row.id))
    skipped = sum(by.get("skipped", 0) for by in counts.values())
    assert skipped > 0, "jobs that come due after the cancel are skipped"
    assert counts["contact"].get("created", 0) < 400


async def test_time_scaled_records_arrive_on_time(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """At time_scale 3600 over a 2-hour window, each contact reaches the CRM within 1 s of its
    scheduled wall-clock moment at the 99th percentile (measured by the sandbox's receipts)."""
    row = await create_simulation(
        runtime_store,
        total_records=300,
        backfill=False,
        time_scale=3600,
        start_time="2026-01-05T09:00:00Z",
        end_time="2026-01-05T11:00:00Z",
        distribution_method="uniform",
    )
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file)
    try:
        done = await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60)
    finally:
        await running.stop()
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
