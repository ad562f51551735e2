"""REDIS_PROGRESS=0 on the workers: progress is read from the database only, so the workers
keep the database's counters current while the run goes on, not every SIMCRM_FLUSH_INTERVAL_MS."""

from __future__ import annotations

from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    start_engine,
    wait_for_status,
    wait_until,
)

HOUR_MS = 3_600_000


async def test_workers_write_progress_to_the_database_as_it_happens(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """With the flush interval at an hour and REDIS_PROGRESS=0, a running engine's durable
    counters follow the live ones: every contact created shows in the database while the engine
    still runs, and at completion the database equals the live hash."""
    row = await create_simulation(runtime_store, total_records=150)
    settings = runtime_settings(sandbox, REDIS_PROGRESS=False, SIMCRM_FLUSH_INTERVAL_MS=HOUR_MS)
    running = await start_engine(settings, redis_url, database_file)
    try:

        async def contacts_in_database() -> bool:
            counts = await runtime_store.counters.get(row.id)
            return counts.get("contact", {}).get("created", 0) == 150

        await wait_until(contacts_in_database, 60)
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
        live = await metrics.read(redis, SimKeys(row.id, DEFAULT_KEY_PREFIX))

        async def database_caught_up() -> bool:
            return await runtime_store.counters.get(row.id) == live

        await wait_until(database_caught_up, 10)
    finally:
        await running.stop()
