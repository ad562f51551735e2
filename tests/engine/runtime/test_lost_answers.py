"""Creates whose answers are lost after HubSpot applied them: every object still exists exactly
once, and no job is dead-lettered for it (SPEC §6, idempotent creates)."""

from __future__ import annotations

import contextlib

import pytest
from redis.asyncio import Redis

from engine.crm import ObjectType
from sandbox import Fault, Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue
from tests.engine.runtime.harness import (
    create_simulation,
    expected_objects,
    runtime_settings,
    start_engine,
    stored_keys,
    wait_for_status,
)


@pytest.mark.slow
async def test_answers_lost_after_the_write_leave_no_duplicates(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """A quarter of the requests are applied and then lose their answer, after a slow answer
    (600 ms) and with a search index lagging 1 s: each lost create is looked up a full search lag
    after its loss was seen — not after it was sent — so it is found instead of created again,
    and a lost answer costs no attempt. The run ends with every planned object exactly once and
    no dead letters."""
    sandbox.reconfigure(
        error_rate=0.25,
        faults=(Fault.LOST,),
        latency_ms=600,
        search_lag_ms=1_000,
        seed=11,
    )
    row = await create_simulation(runtime_store, total_records=150)
    settings = runtime_settings(
        sandbox,
        HUBSPOT_SEARCH_LAG_MS=1_000,
        HUBSPOT_TIMEOUT_MS=5_000,
        HUBSPOT_BREAKER_FAILURES=500,
    )
    running = await start_engine(settings, redis_url, database_file)
    try:
        done = await wait_for_status(
            runtime_store, row.id, SimulationStatus.COMPLETED, 240, redis_url
        )
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    stored = stored_keys(sandbox)
    expected = expected_objects(done)
    for object_type in expected:
        twice = {key: n for key, n in stored[object_type].items() if n > 1}
        assert twice == {}, (object_type, twice)
    for object_type, keys in expected.items():
        assert set(stored[object_type]) == keys, object_type
    assert stored[ObjectType.NOTE], "the scenario should have planned notes"
    queue = Queue(redis, settings.queue_config())
    dead = await queue.dead_letters.entries(str(row.id), limit=1_000)
    assert [(e.job.id, e.error) for e in dead] == []
