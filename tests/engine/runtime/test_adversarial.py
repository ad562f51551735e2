"""The engine against the twin's adversarial modes, one at a time and all at once: writes
committed and then answered 502/504/524 or never answered, a search index lagging a random
0.2–1.5 s, batch results shuffled and without their trace ids, unique-value refusals in HubSpot's
other wordings, and a lifecycle stage moved backwards refused. Every planned object exists exactly
once."""

from __future__ import annotations

import contextlib

import aiohttp
import pytest
from redis.asyncio import Redis

from engine.crm import ObjectType
from engine.model import SimulationModel, SimulationSpec
from sandbox import Sandbox
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

LAGGING = {"search_lag_ms": 200, "search_lag_max_ms": 1_500}
MODES: dict[str, dict[str, object]] = {
    "applied-then-5xx": {"applied_error_rate": 0.15, **LAGGING},
    "applied-then-timeout": {"applied_timeout_rate": 0.08, "applied_timeout_ms": 3_000, **LAGGING},
    "all": {
        "applied_error_rate": 0.08,
        "applied_timeout_rate": 0.04,
        "applied_timeout_ms": 3_000,
        "shuffle_results": True,
        "echo_trace_ids": False,
        "duplicate_wordings": True,
        "lifecycle_backwards": "refuse",
        **LAGGING,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
async def test_adversarial_modes_leave_each_object_once(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_url: str,
    redis: Redis,
    mode: str,
) -> None:
    """Writes committed and then answered with a gateway error (502/504/524), or never answered;
    or everything at once — 8 % and 4 % of those, search lagging up to HUBSPOT_SEARCH_LAG_MS,
    results shuffled without trace ids, duplicate refusals worded otherwise, lifecycle stages
    moved back refused: a backfill ends with every planned object of every type exactly once,
    none missing and no dead letters."""
    sandbox.reconfigure(**MODES[mode], seed=5)
    row = await create_simulation(runtime_store, total_records=1_000)
    settings = runtime_settings(
        sandbox,
        HUBSPOT_SEARCH_LAG_MS=1_500,
        HUBSPOT_TIMEOUT_MS=1_500,
        HUBSPOT_BREAKER_FAILURES=1_000,
    )
    running = await start_engine(settings, redis_url, database_file)
    try:
        done = await wait_for_status(
            runtime_store, row.id, SimulationStatus.COMPLETED, 300, redis_url
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
    dead = await Queue(redis, settings.queue_config()).dead_letters.entries(str(row.id), limit=100)
    assert [(e.job.id, e.error) for e in dead] == []


async def test_objects_that_exist_already_are_read_back_whatever_the_refusal_says(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """Contacts and companies of a run exist already (created by an earlier run whose ids were
    lost): their creates are refused in HubSpot's several wordings and statuses, and each is
    read back by its email or unique ``simcrm_key`` — recorded, not dead-lettered, not doubled."""
    sandbox.reconfigure(duplicate_wordings=True, seed=3)
    row = await create_simulation(runtime_store, total_records=40)
    model = SimulationModel(SimulationSpec.from_row(row))
    companies = sorted(expected_objects(row)[ObjectType.COMPANY])
    key = {
        "name": "simcrm_key", "label": "SimCRM key", "type": "string", "fieldType": "text",
        "groupName": "companyinformation", "hasUniqueValue": True,
    }  # fmt: skip
    headers = {"Authorization": "Bearer sandbox-token"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{sandbox.url}/crm/v3/properties/companies", json=key) as answer:
            assert answer.status == 201
        inputs = [{"properties": {"name": k, "simcrm_key": k}} for k in companies[:20]]
        inputs += [{"properties": {"email": model.contact(i)["email"]}} for i in range(0, 40, 2)]
        for path, chunk in (("companies", inputs[:20]), ("contacts", inputs[20:])):
            url = f"{sandbox.url}/crm/v3/objects/{path}/batch/create"
            async with http.post(url, json={"inputs": chunk}) as answer:
                assert answer.status == 201, await answer.text()
    settings = runtime_settings(sandbox, HUBSPOT_SEARCH_LAG_MS=200)
    running = await start_engine(settings, redis_url, database_file)
    try:
        done = await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 120)
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    dead = await Queue(redis, settings.queue_config()).dead_letters.entries(str(row.id), limit=100)
    assert [(e.job.id, e.error) for e in dead] == []
    stored = stored_keys(sandbox)
    assert {k for k, n in stored[ObjectType.COMPANY].items() if n > 1} == set()
    assert set(stored[ObjectType.COMPANY]) == set(companies)
    emails = [o.properties.get("email") for o in sandbox.objects(ObjectType.CONTACT)]
    assert len(emails) == len(set(emails)) == done.total_records
