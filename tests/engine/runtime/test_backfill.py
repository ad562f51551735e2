"""A whole backfill against the sandbox over HTTP: everything planned is created, once."""

from __future__ import annotations

from pathlib import Path

from engine.crm import ObjectType, hs_timestamp
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    expected_objects,
    planned_times,
    runtime_settings,
    start_engine,
    stored_keys,
    wait_for_status,
)


async def test_backfill_creates_exactly_the_plan(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """A backfill of 5,000 records: every planned object exists once in the sandbox, activities
    are associated with their record's contact, engagements carry their planned hs_timestamp,
    and the simulation completes with durable counters equal to what was created."""
    row = await create_simulation(runtime_store, total_records=5_000)
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file)
    try:
        done = await wait_for_status(
            runtime_store, row.id, SimulationStatus.COMPLETED, 100, redis_url
        )
    finally:
        await running.stop()
    expected = expected_objects(done)
    stored = stored_keys(sandbox)
    for object_type, keys in expected.items():
        assert set(stored[object_type]) == keys, object_type
        assert all(count == 1 for count in stored[object_type].values()), object_type
    assert sum(sandbox.stats().duplicates.values()) == 0
    contacts = {o.id: o for o in sandbox.objects(ObjectType.CONTACT)}
    contact_of = {o.properties["simcrm_record_index"]: o.id for o in contacts.values()}
    times = planned_times(done)
    for object_type in (ObjectType.NOTE, ObjectType.CALL, ObjectType.TASK, ObjectType.TICKET):
        for obj in sandbox.objects(object_type):
            links = [a for a in obj.associations if a.to_type == "contact"]
            assert [a.to_id for a in links] == [contact_of[obj.properties["simcrm_record_index"]]]
            if object_type is not ObjectType.TICKET:
                planned = hs_timestamp(times[obj.properties["simcrm_key"]])
                assert obj.properties["hs_timestamp"] == planned
    counters = await runtime_store.counters.get(row.id)
    for object_type, keys in expected.items():
        kind = object_type.value
        if keys:
            assert counters[kind]["created"] == len(keys), kind


async def test_a_new_database_does_not_inherit_old_redis_state(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, tmp_path: Path
) -> None:
    """Simulation 1 of a fresh database, run against a Redis still holding the keys of another
    database's simulation 1, is planned and created in full, not mistaken for the old one."""
    first = await create_simulation(runtime_store, total_records=60)
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file)
    try:
        await wait_for_status(runtime_store, first.id, SimulationStatus.COMPLETED, 60)
    finally:
        await running.stop()
    sandbox.reset()
    other_db = f"sqlite+aiosqlite:///{tmp_path}/other.db"
    async with Store.open(other_db, require_schema=False) as other:
        await other.migrate()
        second = await create_simulation(other, total_records=60, distribution_method="bell")
        assert second.id == first.id
        running = await start_engine(runtime_settings(sandbox), redis_url, other_db)
        try:
            done = await wait_for_status(other, second.id, SimulationStatus.COMPLETED, 60)
        finally:
            await running.stop()
    stored = stored_keys(sandbox)
    for object_type, keys in expected_objects(done).items():
        assert set(stored[object_type]) == keys, object_type
