"""Against a real HubSpot account: creates, look-ups and duplicate refusals behave as SimCRM needs.

Skipped unless ``HUBSPOT_TEST_TOKEN`` holds a private-app token of a HubSpot *developer test
account* (these tests create custom ``simcrm_*`` properties and a few objects there, and archive
the objects at the end). ``HUBSPOT_TEST_BASE_URL`` points them elsewhere (the sandbox, say:
``simcrm sandbox --port 8090`` and ``http://127.0.0.1:8090``). Run with ``pytest -m hubspot_live``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator

import pytest

from engine.crm import (
    SIMCRM_KEY,
    SIMCRM_RECORD_INDEX,
    SIMCRM_SIMULATION_ID,
    CrmObject,
    HubSpotTransport,
    ObjectInput,
    ObjectType,
    PortalClient,
    UpsertInput,
    check_token,
    hs_timestamp,
)
from engine.crm.census import CensusTaker

TOKEN = os.environ.get("HUBSPOT_TEST_TOKEN", "")
BASE_URL = os.environ.get("HUBSPOT_TEST_BASE_URL", "https://api.hubapi.com")
SEARCH_WAIT_S = 120  # HubSpot's index lags by seconds to about a minute

pytestmark = [
    pytest.mark.hubspot_live,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not TOKEN, reason="HUBSPOT_TEST_TOKEN is not set"),
]


@pytest.fixture
async def portal() -> AsyncIterator[PortalClient]:
    """The test account, with the simcrm_* properties in place; objects made are archived."""
    async with HubSpotTransport(BASE_URL, wait_for_limits=True) as transport:
        details = await check_token(transport, TOKEN)
        client = PortalClient(transport, details.portal_id, TOKEN)
        for object_type in (ObjectType.CONTACT, ObjectType.COMPANY, ObjectType.NOTE):
            await client.ensure_simcrm_properties(object_type)
        yield client


def _run_id() -> str:
    """A simulation id no real run uses, so the census sees only this test's objects."""
    return str(9_000_000_000 + secrets.randbelow(10**9))


def _marks(run: str, kind: str, index: int = 0) -> dict[str, str]:
    return {
        SIMCRM_KEY: f"{run}:{kind}:{index}:0",
        SIMCRM_SIMULATION_ID: run,
        SIMCRM_RECORD_INDEX: str(index),
    }


async def _found_by_key(portal: PortalClient, object_type: ObjectType, key: str) -> list[CrmObject]:
    """The objects carrying ``key`` once search shows at least one (or after the wait)."""
    deadline = time.monotonic() + SEARCH_WAIT_S
    while True:
        found = (await portal.find_by_key(object_type, [key]))[key]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(3)


async def test_contact_create_twice_is_one_contact(portal: PortalClient) -> None:
    """A second create of a contact's email is answered by HubSpot's duplicate refusal, which
    the client turns into success with the first contact's id."""
    run = _run_id()
    email = f"simcrm-live-{run}@example.com"
    first = await portal.create(
        ObjectType.CONTACT, ObjectInput({"email": email, **_marks(run, "contact")})
    )
    try:
        again = await portal.create(ObjectType.CONTACT, ObjectInput({"email": email}))
        assert (again.id, again.new) == (first.id, False)
        upserted = await portal.batch_upsert(
            ObjectType.CONTACT, [UpsertInput(email, {"firstname": "Live"})], id_property="email"
        )
        assert upserted.items[0].id == first.id
    finally:
        await portal.archive(ObjectType.CONTACT, str(first.id))


async def test_unique_simcrm_key_refuses_a_second_company(portal: PortalClient) -> None:
    """simcrm_key is unique on companies: an upsert on it twice is one company, a plain create
    with the same key is refused, and reading by the key finds the first."""
    run = _run_id()
    marks = _marks(run, "company")
    key = marks[SIMCRM_KEY]
    first = await portal.batch_upsert(
        ObjectType.COMPANY, [UpsertInput(key, {"name": "Live Co", **marks})], id_property=SIMCRM_KEY
    )
    company = str(first.items[0].id)
    try:
        again = await portal.batch_upsert(
            ObjectType.COMPANY, [UpsertInput(key, {"name": "Live Co"})], id_property=SIMCRM_KEY
        )
        assert (again.items[0].id, again.items[0].new) == (company, False)
        created = await portal.batch_create(
            ObjectType.COMPANY, [ObjectInput({"name": "Dup", **marks})]
        )
        assert not created.items[0].ok, created.items[0]
        read = await portal.batch_read(ObjectType.COMPANY, [key], id_property=SIMCRM_KEY)
        assert read.found[key].id == company
    finally:
        await portal.archive(ObjectType.COMPANY, company)


async def test_a_note_is_found_by_key_after_the_lag_and_counted_once(portal: PortalClient) -> None:
    """A note has no unique property: it is found by its simcrm_key once search catches up,
    and the census counts it once, then twice after a second create — the duplicate verify
    reports."""
    run = _run_id()
    properties = {"hs_timestamp": hs_timestamp(int(time.time() * 1000)), **_marks(run, "note")}
    key = properties[SIMCRM_KEY]
    made = [await portal.create(ObjectType.NOTE, ObjectInput(properties))]
    try:
        assert [o.id for o in await _found_by_key(portal, ObjectType.NOTE, key)] == [made[0].id]
        taker = CensusTaker(portal)
        census = await taker.count(ObjectType.NOTE, int(run), 1)
        assert (census.objects, census.duplicates) == (1, 0)
        made.append(await portal.create(ObjectType.NOTE, ObjectInput(properties)))
        deadline = time.monotonic() + SEARCH_WAIT_S
        while (await taker.count(ObjectType.NOTE, int(run), 1)).duplicates < 1:
            assert time.monotonic() < deadline, "the second note never showed in search"
            await asyncio.sleep(3)
    finally:
        await portal.batch_archive(ObjectType.NOTE, [str(m.id) for m in made])
