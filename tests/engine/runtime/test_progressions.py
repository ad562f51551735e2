"""What a run will not do to an account: send a contact's lifecycle stage backwards (HubSpot
refuses that) when a contact create or an earlier lifecycle step is replayed, or create
companies in an account whose ``simcrm_key`` cannot keep them from doubling."""

from __future__ import annotations

import contextlib

import aiohttp
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.model import ActivityType, SimulationModel, SimulationSpec
from engine.runtime.jobs import activity_job, contact_job
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


async def test_replayed_steps_never_move_a_contact_back(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """After a run, a contact's create is replayed with its recorded id gone (as after a Redis
    failover) and its first lifecycle step is replayed (as from the dead letters): the contact is
    found by email and recorded again, the stale step is skipped, and the contact keeps the stage
    it had reached — no request tried to move it back."""
    row = await create_simulation(runtime_store, total_records=40)
    settings = runtime_settings(sandbox, HUBSPOT_SEARCH_LAG_MS=200)
    running = await start_engine(settings, redis_url, database_file)
    try:
        done = await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 120)
        model = SimulationModel(SimulationSpec.from_row(done))
        index, steps = next(
            (i, steps)
            for i in range(done.total_records)
            if len(
                steps := [
                    a for a in model.plan(i).activities if a.kind is ActivityType.LIFECYCLE_UPDATE
                ]
            )
            >= 2
        )
        email = model.contact(index)["email"]

        def stage() -> list[str | None]:
            return [
                o.properties.get("lifecyclestage")
                for o in sandbox.objects(ObjectType.CONTACT)
                if o.properties.get("email") == email
            ]

        reached = stage()
        assert len(reached) == 1 and reached[0] != model.contact(index)["lifecyclestage"]
        keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
        await redis.hdel(keys.ids, f"{row.id}:contact:{index}")
        queue = running.engine.queue
        await queue.enqueue(contact_job(row.id, index))
        await queue.enqueue(activity_job(row.id, index, steps[0]))

        async def settled() -> bool:
            return await queue.live_count(str(row.id)) == 0

        await wait_until(settled, 60)
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    assert stage() == reached
    assert await redis.hget(keys.ids, f"{row.id}:contact:{index}") is not None


async def test_an_account_with_a_non_unique_simcrm_key_fails_the_run(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """A ``simcrm_key`` on companies that someone defined without a unique value (after the
    simulation started): the run fails, its reason naming the type and the property, rather
    than create companies it could not keep from doubling."""
    headers = {"Authorization": "Bearer sandbox-token"}
    definition = {
        "name": "simcrm_key", "label": "Key", "type": "string", "fieldType": "text",
        "groupName": "companyinformation", "hasUniqueValue": False,
    }  # fmt: skip
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(f"{sandbox.url}/crm/v3/properties/companies", json=definition) as response,
    ):
        assert response.status == 201
    row = await create_simulation(runtime_store, total_records=20)
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file)
    try:
        failed = await wait_for_status(runtime_store, row.id, SimulationStatus.FAILED, 60)
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    assert "companies property 'simcrm_key'" in (failed.status_reason or "")
    assert not [o for o in sandbox.objects(ObjectType.COMPANY) if not o.archived]
