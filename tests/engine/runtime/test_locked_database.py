"""The database locked by another writer while a worker runs: the counters' flush waits beside
the control loop, not in it, so expansion and the run go on; the flush is retried and the durable
counters end equal to the live ones."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
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


@contextmanager
def write_locked(database_url: str) -> Iterator[None]:
    """Another process's write transaction held open on the SQLite file: every other writer
    waits for it (readers do not, in WAL mode)."""
    conn = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def test_a_locked_database_holds_up_only_the_flush(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """With the database write-locked, contacts keep being created well past the backfill
    window (segment expansion goes on); after the lock, the run completes and the durable
    counters equal the live ones — the flush was retried and nothing was lost."""
    row = await create_simulation(runtime_store, total_records=1_500)
    settings = runtime_settings(sandbox, SIMCRM_BACKFILL_WINDOW=100)
    running = await start_engine(settings, redis_url, database_file)
    try:
        await wait_until(lambda: len(sandbox.objects(ObjectType.CONTACT)) >= 100, 30)
        with write_locked(database_file):
            at_lock = len(sandbox.objects(ObjectType.CONTACT))
            await wait_until(lambda: len(sandbox.objects(ObjectType.CONTACT)) >= at_lock + 400, 20)
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 120)
    finally:
        await running.stop()
    live = await metrics.read(redis, SimKeys(row.id, DEFAULT_KEY_PREFIX))
    durable = await runtime_store.counters.get(row.id)
    assert live["contact"]["created"] == row.total_records
    flat = {(kind, name): value for kind, by in live.items() for name, value in by.items()}
    assert {key: durable.get(key[0], {}).get(key[1]) for key in flat} == flat
