"""Every request body the client sends fits HubSpot's official SDK request models.

The bodies are captured on the wire: a recording proxy sits between the client and the sandbox,
and each body it saw is built into the SDK model for its call (``tests/engine/crm/sdk_models.py``,
client-side validation on). Once for each client operation, once for a whole small simulation
run by the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from engine.crm import (
    SIMCRM_KEY,
    Association,
    HubSpotTransport,
    ObjectInput,
    ObjectType,
    PortalClient,
    UpdateInput,
    UpsertInput,
    hs_timestamp,
)
from engine.crm.census import CensusTaker
from sandbox import Sandbox, SandboxConfig
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.crm.sdk_models import NotSdkShaped, check_body
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    start_engine,
    wait_for_status,
)
from tests.support.sandboxes import PORTAL, TOKEN

HOP_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "connection", "host"}


@dataclass
class Recorder:
    """A proxy on loopback forwarding every request to ``target``, keeping each JSON body."""

    target: str
    url: str = ""
    bodies: list[tuple[str, str, Any]] = field(default_factory=list)

    def check_all(self) -> int:
        """Build every recorded body into its SDK model; returns how many were checked."""
        for method, path, body in self.bodies:
            check_body(method, path, body)
        return len(self.bodies)


@pytest.fixture
async def recorder_factory() -> AsyncIterator[Any]:
    runners: list[web.AppRunner] = []
    session = aiohttp.ClientSession()

    async def start(target: str) -> Recorder:
        recorder = Recorder(target)

        async def forward(request: web.Request) -> web.Response:
            raw = await request.read()
            if raw:
                recorder.bodies.append((request.method, request.path, orjson.loads(raw)))
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
            async with session.request(
                request.method,
                recorder.target + request.path_qs,
                data=raw or None,
                headers=headers,
            ) as answer:
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
                return web.Response(status=answer.status, body=body, headers=kept)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        recorder.url = f"http://{host}:{port}"
        runners.append(runner)
        return recorder

    yield start
    for runner in runners:
        await runner.cleanup()
    await session.close()


async def test_every_client_operation_sends_sdk_shaped_bodies(
    sandbox: Sandbox, recorder_factory: Any
) -> None:
    """Creates (single and batch, with inline associations), upserts by email and by the unique
    simcrm_key, updates, batch reads by id and by key, search, the census, property groups and
    properties, v4 associations and archives: each body the client put on the wire builds the
    SDK's model."""
    recorder: Recorder = await recorder_factory(sandbox.url)
    async with HubSpotTransport(recorder.url) as transport:
        portal = PortalClient(transport, PORTAL, TOKEN)
        for object_type in (ObjectType.CONTACT, ObjectType.COMPANY, ObjectType.NOTE):
            await portal.ensure_simcrm_properties(object_type)
        contact = await portal.create(
            ObjectType.CONTACT,
            ObjectInput({"email": "ada@example.com", SIMCRM_KEY: "1:contact:0"}),
        )
        assert contact.id is not None
        upserted = await portal.batch_upsert(
            ObjectType.CONTACT,
            [UpsertInput("bob@example.com", {"firstname": "Bob", "simcrm_record_index": 1})],
            id_property="email",
        )
        companies = await portal.batch_upsert(
            ObjectType.COMPANY,
            [UpsertInput("1:company:0:0", {"name": "Acme", "simcrm_simulation_id": "1"})],
            id_property=SIMCRM_KEY,
        )
        at = hs_timestamp(1_767_600_000_000)
        notes = await portal.batch_create(
            ObjectType.NOTE,
            [
                ObjectInput(
                    {"hs_timestamp": at, "hs_note_body": "hello", SIMCRM_KEY: "1:note:0:0"},
                    [Association(ObjectType.CONTACT, contact.id)],
                    trace_id="1:note:0:0",
                )
            ],
        )
        await portal.batch_update(
            ObjectType.CONTACT, [UpdateInput(contact.id, {"lifecyclestage": "lead"})]
        )
        await portal.update(ObjectType.CONTACT, contact.id, {"lastname": "Lovelace"})
        await portal.batch_read(ObjectType.CONTACT, [contact.id], properties=["email"])
        await portal.batch_read(ObjectType.COMPANY, ["1:company:0:0"], id_property=SIMCRM_KEY)
        await portal.find_by_key(ObjectType.NOTE, ["1:note:0:0"])
        await CensusTaker(portal).count(ObjectType.CONTACT, 1, 2)
        await portal.batch_associate(
            ObjectType.CONTACT,
            ObjectType.COMPANY,
            [(str(upserted.items[0].id), str(companies.items[0].id))],
        )
        await portal.batch_archive(ObjectType.NOTE, [str(notes.items[0].id)])
        await portal.archive(ObjectType.CONTACT, contact.id)
    assert recorder.check_all() >= 14
    kinds = {path.rsplit("/", 1)[-1] for _, path, _ in recorder.bodies}
    assert {"create", "upsert", "update", "read", "archive", "search", "companies"} <= kinds


async def test_a_simulation_run_sends_only_sdk_shaped_bodies(
    recorder_factory: Any, tmp_path: Path, redis_url: str, redis: Any
) -> None:
    """A small b2b backfill run by the engine through the recording proxy: every body of every
    call it made (properties, upserts, engagement creates with associations, stage updates,
    look-ups) builds the SDK's request model."""
    database = f"sqlite+aiosqlite:///{tmp_path}/sdk.db"
    async with (
        Sandbox(SandboxConfig(tier=250, daily_limit=0, search_lag_ms=200)) as sandbox,
        Store.open(database, require_schema=False) as store,
    ):
        await store.migrate()
        recorder: Recorder = await recorder_factory(sandbox.url)
        row = await create_simulation(store, total_records=80)
        settings = runtime_settings(sandbox, SIMCRM_SANDBOX_URL=recorder.url)
        running = await start_engine(settings, redis_url, database)
        try:
            await wait_for_status(store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
        finally:
            await running.stop()
    assert recorder.check_all() > 10
    objects = {path.split("/")[4] for _, path, _ in recorder.bodies if "/objects/" in path}
    assert {"contacts", "companies", "deals", "notes"} <= objects


def test_the_check_refuses_what_the_sdk_refuses() -> None:
    """The check has teeth: a number as a property value, a field the model lacks, an unknown
    association category, a filter operator HubSpot does not have, a call with no model."""
    path = "/crm/v3/objects/notes/batch/create"
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}
    check_body("POST", path, {"inputs": [{"properties": {"a": "1"}}]})
    for body in (
        {"inputs": [{"properties": {"hs_timestamp": 1}}]},
        {"inputs": [{"properties": {}, "objectWriteTraceID": "0"}]},
        {"inputs": [{"properties": {}, "associations": [
            {"to": {"id": "1"}, "types": [{**spec, "associationCategory": "DEFAULT"}]}]}]},
    ):  # fmt: skip
        with pytest.raises(NotSdkShaped):
            check_body("POST", path, body)
    search = {"filterGroups": [{"filters": [{"propertyName": "x", "operator": "EQUALS"}]}]}
    with pytest.raises(NotSdkShaped, match="operator"):
        check_body("POST", "/crm/v3/objects/notes/search", search)
    with pytest.raises(NotSdkShaped, match="no request model"):
        check_body("POST", "/crm/v3/objects/notes/merge", {})
