"""A daemon holds SIMCRM_CONCURRENCY jobs per running simulation: each simulation's batches
gather their jobs in the worker's slots, so with several simulations a fixed number of slots
filled with one's part-built batches and starved the others' reads (4 portals at once ran at a
third of their speed). The slots follow the simulations as they start and end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox import Sandbox
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    simulations,
    start_engine,
    wait_until,
)


async def test_slots_grow_with_running_simulations_and_shrink_as_they_end(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    start = datetime.now(UTC) + timedelta(days=1)  # running, with nothing due yet
    window = {
        "start_time": start.isoformat().replace("+00:00", "Z"),
        "end_time": (start + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
        "backfill": False,
        "time_scale": 1.0,
    }
    rows = [await create_simulation(runtime_store, **window) for _ in range(3)]
    running = await start_engine(
        runtime_settings(sandbox, SIMCRM_CONCURRENCY=50), redis_url, database_file
    )
    try:
        slots = running.engine.worker.slots
        await wait_until(lambda: slots.total == 150, 20)
        service = simulations(runtime_store)
        for row in rows[:2]:
            await service.cancel(row.id)
        await wait_until(lambda: slots.total == 50, 20)
        await service.cancel(rows[2].id)
        await wait_until(lambda: slots.total == 50, 20)  # never below one simulation's worth
    finally:
        await running.stop()
