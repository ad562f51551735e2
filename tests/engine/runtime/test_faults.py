"""A 429 storm (another app hammering the same token) with 5 % of requests failing, some after
being applied: nothing is lost, nothing is duplicated, and only jobs whose attempts ran out are
dead letters, with the right category. While the breaker is open, optional engagements are
thinned (SPEC §3): those are counted and leave thinning events instead."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.runtime import metrics, thinning
from engine.runtime.keys import SimKeys
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

TOKEN = "sandbox-token"


async def neighbour(url: str, seconds: float) -> int:
    """Another integration sharing the token, sending 40 requests a second: 429s for everyone."""
    sent = 0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        end = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < end:
            async with http.get(f"{url}/crm/v3/objects/contacts?limit=1") as response:
                await response.read()
            sent += 1
            await asyncio.sleep(0.025)
    return sent


@pytest.mark.slow
async def test_429_storm_and_server_errors(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """Under a 429 storm and 5 % faults (502/503/504, and requests applied but never answered)
    every planned object is created once or its job is a dead letter of category rate_limit,
    server or network; the breaker opens and closes again; the run completes."""
    sandbox.reconfigure(
        tier=100,
        error_rate=0.05,
        faults=(Fault.BAD_GATEWAY, Fault.UNAVAILABLE, Fault.GATEWAY_TIMEOUT, Fault.LOST),
        seed=7,
    )
    row = await create_simulation(runtime_store, total_records=1_000)
    settings = runtime_settings(
        sandbox,
        HUBSPOT_TIER=100,
        HUBSPOT_COOLDOWN_MS=2_000,
        HUBSPOT_BREAKER_FAILURES=3,  # a short run meets fewer failures than HubSpot's 60 s window
        HUBSPOT_BREAKER_OPEN_MS=2_000,
        HUBSPOT_BREAKER_PROBE_MS=2_000,
        HUBSPOT_SEARCH_LAG_MS=500,
        HUBSPOT_TIMEOUT_MS=2_000,
        SIMCRM_VISIBILITY_MS=3_000,
    )
    running = await start_engine(settings, redis_url, database_file)
    try:
        noise = asyncio.create_task(neighbour(sandbox.url, 8.0))
        done = await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 240)
        await noise
        portal = str(sandbox.config.portal_id)
        state = await running.engine.limiter.state(portal)
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    stats = sandbox.stats()
    assert stats.rate_limited_total > 0, "the storm should have produced 429s"
    assert state.breaker_trips >= 1
    assert state.breaker == "closed"

    queue = Queue(redis, settings.queue_config())
    dead = await queue.dead_letters.entries(str(row.id), limit=10_000)
    dead_keys = {entry.job.id for entry in dead}
    assert {entry.category for entry in dead} <= {"rate_limit", "server", "network"}
    for entry in dead:  # each ran out of its attempts: none was given up on early
        assert entry.attempts == settings.retries.policy(entry.job.type).attempts, entry
    stored = stored_keys(sandbox)
    created_contacts = {int(key.rsplit(":", 1)[1]) for key in stored[ObjectType.CONTACT]}
    expected = expected_objects(done, created_contacts)
    live = await metrics.read(redis, SimKeys(row.id, DEFAULT_KEY_PREFIX))
    for object_type, keys in expected.items():
        have = set(stored[object_type])
        assert have <= keys, object_type
        unexplained = keys - have - dead_keys
        thinned = live.get(object_type.value, {}).get("thinned", 0)
        assert len(unexplained) == thinned, (object_type, sorted(unexplained)[:5])
        assert all(n == 1 for n in stored[object_type].values()), object_type
    missing_contacts = {f"{row.id}:contact:{i}" for i in range(done.total_records)} - set(
        stored[ObjectType.CONTACT]
    )
    assert missing_contacts <= dead_keys
    assert sum(m.get("rate_limited", 0) for m in live.values()) > 0
    if sum(m.get("thinned", 0) for m in live.values()):
        assert await thinning.read(redis, SimKeys(row.id, DEFAULT_KEY_PREFIX), 10)
