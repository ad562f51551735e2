"""A time-scaled run is bounded by count: when the CRM cannot keep up, expansion waits at the
backlog cap instead of piling due jobs into Redis, and the run reports how late it is."""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio import Redis
from structlog.testing import capture_logs

from core.keys import DEFAULT_KEY_PREFIX
from engine.model import ActivityType
from engine.runtime.backlog import LATE_MAX_MS, LATE_MS
from engine.runtime.keys import SimKeys
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    start_engine,
    wait_for_status,
)

CAP = 100
RECORDS = 2_000
WINDOW_S = 4  # the 7-day window plays in 4 seconds: 500 records due per second


async def depth(redis: Redis, queue: Queue) -> int:
    """Every job in the queue: ready, running or delayed (none is left out of the sample)."""
    total = 0
    for shard in range(queue.keys.shards):
        for stream in queue.keys.streams(shard):
            total += await redis.xlen(stream)
        total += await redis.zcard(queue.keys.delayed(shard))
    return total


async def test_expansion_waits_at_the_backlog_cap_and_reports_lateness(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """With a slow CRM (300 ms a call) and 500 records due per second, the queue never holds
    more than SIMCRM_BACKLOG_MAX jobs; the run falls behind, says so (``late_ms`` in the
    segments hash, a ``simulation_behind_schedule`` log line), and still completes with every
    contact created once."""
    sandbox.reconfigure(latency_ms=300)
    no_activities = {kind.value: {"probability": 0} for kind in ActivityType}
    row = await create_simulation(
        runtime_store,
        total_records=RECORDS,
        backfill=False,
        time_scale=7 * 24 * 3600 / WINDOW_S,
        scenario_overrides={"activities": no_activities},
    )
    settings = runtime_settings(sandbox, SIMCRM_BACKLOG_MAX=CAP)
    queue = Queue(redis, settings.queue_config())
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    samples: list[int] = []
    most_late = 0

    async def sample() -> None:
        nonlocal most_late
        while True:
            samples.append(await depth(redis, queue))
            most_late = max(most_late, int(await redis.hget(keys.segments, LATE_MS) or 0))
            await asyncio.sleep(0.01)

    with capture_logs() as logs:
        running = await start_engine(settings, redis_url, database_file)
        sampler = asyncio.create_task(sample())
        try:
            await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 120, redis_url)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await running.stop()
    assert len(samples) > 100
    assert max(samples) <= CAP, f"the queue held {max(samples)} jobs"
    assert max(samples) >= CAP // 2, "the cap was never approached: the test proves nothing"
    assert most_late > 1_000, "the run was reported on schedule though the CRM lagged"
    assert int(await redis.hget(keys.segments, LATE_MAX_MS) or 0) >= most_late
    assert int(await redis.hget(keys.segments, LATE_MS) or 0) == 0  # caught up at the end
    behind = [e for e in logs if e["event"] == "simulation_behind_schedule"]
    assert behind and behind[0]["sim_id"] == row.id
    contacts = [o for o in sandbox.objects("contacts") if not o.archived]
    assert len(contacts) == RECORDS
