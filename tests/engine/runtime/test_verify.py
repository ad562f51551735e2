"""``verify``: a run's objects counted in the CRM by key — duplicates, missing, and the fix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import HubSpotTransport, ObjectInput, ObjectType, PortalClient
from engine.crm.census import CensusTaker
from engine.runtime.keys import SimKeys
from engine.simulations import IllegalAction
from engine.simulations.verify import verify_simulation
from sandbox import Sandbox
from schema.simulations import Simulation, SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    start_engine,
    stored_keys,
    wait_for_status,
)

TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def portal(sandbox: Sandbox) -> AsyncIterator[PortalClient]:
    async with HubSpotTransport(sandbox.url) as transport:
        yield PortalClient(transport, sandbox.config.portal_id, TOKEN)


async def _completed(
    sandbox: Sandbox, store: Store, database_file: str, redis_url: str, records: int
) -> Simulation:
    row = await create_simulation(store, total_records=records)
    running = await start_engine(runtime_settings(sandbox), redis_url, database_file)
    try:
        return await wait_for_status(store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
    finally:
        await running.stop()


async def _visible(sandbox: Sandbox) -> None:
    """Wait out the sandbox's search lag, so everything written so far can be found."""
    await asyncio.sleep(sandbox.config.search_lag_ms / 1000 + 0.1)


async def test_a_clean_run_verifies_with_nothing_missing_or_doubled(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_url: str,
    redis: Redis,
    portal: PortalClient,
) -> None:
    """After a run, verify finds every recorded object of every type once in the CRM, and its
    counts per type agree with the sandbox's own."""
    row = await _completed(sandbox, runtime_store, database_file, redis_url, 120)
    await _visible(sandbox)
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    result = await verify_simulation(row, portal, redis, keys)
    assert result.ok and result.duplicates == 0 and result.missing == 0
    stored = stored_keys(sandbox)
    for check in result.types:
        assert check.in_crm == sum(stored[check.object_type].values()), check.object_type
        assert check.keys_in_crm == check.created, check.object_type
        assert check.unrecorded == 0
    assert next(t for t in result.types if t.object_type is ObjectType.CONTACT).in_crm == 120


async def test_verify_reports_duplicates_and_missing_and_fix_archives_the_extras(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_url: str,
    redis: Redis,
    portal: PortalClient,
) -> None:
    """A note created twice more and a contact archived behind the run's back: verify names the
    doubled key and the missing contact; --fix archives the two extras (keeping the recorded
    note), after which verify finds no duplicate."""
    row = await _completed(sandbox, runtime_store, database_file, redis_url, 60)
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    note = next(o for o in sandbox.objects("notes") if not o.archived)
    properties = {k: v for k, v in note.properties.items() if k.startswith(("simcrm_", "hs_"))}
    for _ in range(2):
        await portal.create(ObjectType.NOTE, ObjectInput({**properties, "hs_note_body": "again"}))
    contact = next(o for o in sandbox.objects("contacts") if not o.archived)
    await portal.archive(ObjectType.CONTACT, contact.id)
    await _visible(sandbox)

    found = await verify_simulation(row, portal, redis, keys)
    notes = next(t for t in found.types if t.object_type is ObjectType.NOTE)
    contacts = next(t for t in found.types if t.object_type is ObjectType.CONTACT)
    assert (notes.duplicates, notes.duplicate_keys) == (2, (note.properties["simcrm_key"],))
    assert (contacts.missing, contacts.missing_keys) == (1, (contact.properties["simcrm_key"],))
    assert not found.ok

    fixed = await verify_simulation(row, portal, redis, keys, fix=True)
    assert fixed.fixed and fixed.duplicates_left == 0
    assert next(t for t in fixed.types if t.object_type is ObjectType.NOTE).archived == 2
    live = [o for o in sandbox.objects("notes") if o.properties["simcrm_key"] == note.properties[
        "simcrm_key"] and not o.archived]  # fmt: skip
    assert [o.id for o in live] == [note.id]
    await _visible(sandbox)
    after = await verify_simulation(row, portal, redis, keys)
    assert after.duplicates == 0 and after.missing == 1


async def test_fix_is_refused_while_the_simulation_runs(
    runtime_store: Store, redis: Redis, portal: PortalClient
) -> None:
    """Archiving extras of a running simulation could race a create still being resolved."""
    row = await create_simulation(runtime_store, total_records=10)
    with pytest.raises(IllegalAction, match="running"):
        await verify_simulation(row, portal, redis, SimKeys(row.id, DEFAULT_KEY_PREFIX), fix=True)


async def test_a_census_splits_queries_search_cannot_list_whole(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_url: str,
    portal: PortalClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When a type's objects outnumber what one search may list, the census splits the records
    by index and still counts every object once."""
    row = await _completed(sandbox, runtime_store, database_file, redis_url, 60)
    await _visible(sandbox)
    monkeypatch.setattr("engine.crm.census.SEARCH_CAP", 7)
    census = await CensusTaker(portal).count(ObjectType.CONTACT, row.id, row.total_records)
    assert census.objects == 60 and census.duplicates == 0
