"""Backfills against the sandbox's adversarial modes: each object exactly once, nothing lost.

Each test runs a backfill of 2,000 b2b_saas records through an engine on loopback, with one of
the sandbox's adversarial modes on (and once with all of them): writes committed and then answered
with a gateway 502/504/524, writes committed and never answered, a search lag drawn per object,
batch results in shuffled order, results without their trace ids, the unique-value refusal in
HubSpot's other wordings. The run must complete with 0 duplicates of every object type and 0
missing objects — counted from the sandbox's own store — and 0 dead letters; and ``verify``,
counting through the search API as a user would, must agree.

Search lags are scaled from HubSpot's seconds-to-a-minute down to 0.1–2 s, and a committed write
whose answer never comes holds its connection past the client's 1 s timeout, so a run takes about
a minute, not an hour; the engine is told the longest lag, as a deployment is.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import HubSpotTransport, ObjectType, PortalClient
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.simulations.verify import verify_simulation
from sandbox import Sandbox, SandboxConfig
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    start_engine,
    stored_keys,
    wait_for_status,
)

RECORDS = 2_000
LAG_MS, LAG_MAX_MS = 100, 2_000
TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"
MODES: dict[str, dict[str, Any]] = {
    "applied-then-5xx": {"applied_error_rate": 0.03},
    "applied-then-timeout": {"applied_timeout_rate": 0.02},
    "search-lag": {"search_lag_ms": LAG_MS, "search_lag_max_ms": LAG_MAX_MS},
    "shuffled-results": {"shuffle_results": True},
    "no-trace-echo": {"echo_trace_ids": False},
    "duplicate-wordings": {"duplicate_wordings": True},
}
ALL_AT_ONCE = {key: value for mode in MODES.values() for key, value in mode.items()}


@pytest.fixture
async def runtime_store(tmp_path: Path, redis: Redis) -> AsyncIterator[tuple[Store, str]]:
    database = f"sqlite+aiosqlite:///{tmp_path}/chaos.db"
    async with Store.open(database, require_schema=False) as store:
        await store.migrate()
        yield store, database


async def _backfill(
    mode: dict[str, Any], store: Store, database: str, redis_url: str, redis: Redis
) -> None:
    fields: dict[str, Any] = {
        "tier": 250,
        "daily_limit": 0,
        "seed": 7,
        "search_lag_ms": LAG_MS,
        "applied_timeout_ms": 1_500,  # held past the client's timeout below
    }
    config = SandboxConfig(**{**fields, **mode})
    async with Sandbox(config) as sandbox:
        row = await create_simulation(store, total_records=RECORDS)
        settings = runtime_settings(
            sandbox,
            HUBSPOT_SEARCH_LAG_MS=LAG_MAX_MS,
            HUBSPOT_TIMEOUT_MS=1_000,
        )
        running = await start_engine(settings, redis_url, database)
        try:
            done = await wait_for_status(store, row.id, SimulationStatus.COMPLETED, 600, redis_url)
            queue: Queue = running.engine.queue
            dead = await queue.dead_letters.scope(str(row.id))
        finally:
            await running.stop()
        keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
        counts = await metrics.read(redis, keys)
        stored = stored_keys(sandbox)
        doubled = {t.path: sum(n - 1 for n in c.values() if n > 1) for t, c in stored.items()}
        assert doubled == dict.fromkeys(doubled, 0), f"duplicates in the sandbox: {doubled}"
        assert dead.total == 0, f"dead letters: {dict(dead.counts)}"
        assert metrics.total(counts, metrics.Metric.DEAD) == 0

        await asyncio.sleep(LAG_MAX_MS / 1000)  # the longest lag passes: search sees all
        async with HubSpotTransport(sandbox.url) as transport:
            portal = PortalClient(transport, sandbox.config.portal_id, TOKEN)
            result = await verify_simulation(done, portal, redis, keys)
    assert result.duplicates == 0 and result.missing == 0, [
        (t.object_type.path, t.duplicates, t.missing, t.missing_keys[:3]) for t in result.types
    ]
    for check in result.types:
        live = stored[check.object_type]
        assert check.in_crm == sum(live.values()), check.object_type
        assert check.keys_in_crm == len(live) == check.created, check.object_type
        assert check.unrecorded == 0, check.object_type
    assert Counter(stored[ObjectType.CONTACT].values()) == Counter({1: RECORDS})


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", list(MODES), ids=list(MODES))
async def test_each_adversarial_mode_leaves_every_object_once(
    mode: str, runtime_store: tuple[Store, str], redis_url: str, redis: Redis
) -> None:
    """One adversarial mode on: the backfill completes with every object of every type in the
    CRM exactly once, no dead letter, and verify agreeing with the sandbox's own count."""
    await _backfill(MODES[mode], *runtime_store, redis_url, redis)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_all_adversarial_modes_at_once_leave_every_object_once(
    runtime_store: tuple[Store, str], redis_url: str, redis: Redis
) -> None:
    """Every adversarial mode on at once: still every object exactly once, no dead letter, and
    verify agrees."""
    await _backfill(ALL_AT_ONCE, *runtime_store, redis_url, redis)
