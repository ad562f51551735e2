"""The twin refuses what HubSpot refuses, with HubSpot's error bodies: unknown properties,
values outside a property's options, stages outside the pipeline, missing required properties,
association types that do not fit the pair, a lifecycle stage moved backwards, oversized
batches and values — each checked over real HTTP."""

from __future__ import annotations

import io
import json
from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox
from tests.sandbox.conftest import call
from tests.support.sandboxes import SandboxFactory

NOW = "1767603600000"


def problems(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-property problems inside HubSpot's ``Property values were not valid`` message."""
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix), body["message"]
    listed: list[dict[str, Any]] = json.loads(body["message"][len(prefix) :])
    return listed


def defined(type_id: int) -> dict[str, Any]:
    return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}


async def refused(
    http: aiohttp.ClientSession, sandbox: Sandbox, path: str, properties: dict[str, str]
) -> list[tuple[str, str]]:
    """Create one object; it must be HubSpot's 400: (property, error code) of each problem,
    with errors[] naming the same properties in their context."""
    status, body, _ = await call(http, sandbox, "POST", path, {"properties": properties})
    assert status == 400, body
    assert body["category"] == "VALIDATION_ERROR"
    assert {"status", "message", "correlationId", "category", "errors"} <= set(body)
    found = [(p["name"], p["error"]) for p in problems(body)]
    assert [(e["context"]["propertyName"][0], e["code"]) for e in body["errors"]] == found
    return found


async def test_unknown_properties_are_refused_by_name(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    found = await refused(
        http, sandbox, "/crm/v3/objects/contacts", {"email": "a@b.co", "shoe_size": "42"}
    )
    assert found == [("shoe_size", "PROPERTY_DOESNT_EXIST")]


async def test_a_lenient_sandbox_accepts_unknown_properties(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(strict_properties=False)
    body = {"properties": {"email": "a@b.co", "shoe_size": "42"}}
    assert (await call(http, sandbox, "POST", "/crm/v3/objects/contacts", body))[0] == 201


@pytest.mark.parametrize(
    ("path", "properties", "wrong"),
    [
        ("contacts", {"lifecyclestage": "prospect"}, "lifecyclestage"),
        ("calls", {"hs_timestamp": NOW, "hs_call_status": "DONE"}, "hs_call_status"),
        ("calls", {"hs_timestamp": NOW, "hs_call_direction": "SIDEWAYS"}, "hs_call_direction"),
        ("tasks", {"hs_timestamp": NOW, "hs_task_status": "FINISHED"}, "hs_task_status"),
        ("tasks", {"hs_timestamp": NOW, "hs_task_priority": "URGENT"}, "hs_task_priority"),
        ("tasks", {"hs_timestamp": NOW, "hs_task_type": "FAX"}, "hs_task_type"),
        (
            "tickets",
            {"subject": "s", "hs_pipeline_stage": "1", "hs_ticket_priority": "CRITICAL"},
            "hs_ticket_priority",
        ),
    ],
)
async def test_enumeration_values_must_be_options(
    http: aiohttp.ClientSession,
    sandbox: Sandbox,
    path: str,
    properties: dict[str, str],
    wrong: str,
) -> None:
    found = await refused(http, sandbox, f"/crm/v3/objects/{path}", properties)
    assert found == [(wrong, "INVALID_OPTION")]


async def test_the_options_themselves_are_accepted(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    for path, properties in (
        ("contacts", {"email": "x@y.co", "lifecyclestage": "marketingqualifiedlead"}),
        ("calls", {"hs_timestamp": NOW, "hs_call_status": "NO_ANSWER"}),
        ("tasks", {"hs_timestamp": NOW, "hs_task_status": "NOT_STARTED", "hs_task_type": "TODO"}),
        ("tickets", {"subject": "s", "hs_pipeline_stage": "4", "hs_ticket_priority": "URGENT"}),
    ):
        status, body, _ = await call(
            http, sandbox, "POST", f"/crm/v3/objects/{path}", {"properties": properties}
        )
        assert status == 201, body


async def test_stages_must_belong_to_the_pipeline(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """A deal's stage is checked against its pipeline (the default one when none is sent, or
    the stored one on update); an unknown pipeline is refused; tickets likewise."""
    deal = {"dealname": "d", "dealstage": "ticket-stage"}
    assert await refused(http, sandbox, "/crm/v3/objects/deals", deal) == [
        ("dealstage", "INVALID_OPTION")
    ]
    deal = {"dealname": "d", "pipeline": "enterprise", "dealstage": "closedwon"}
    assert await refused(http, sandbox, "/crm/v3/objects/deals", deal) == [
        ("pipeline", "INVALID_OPTION")
    ]
    ticket = {"subject": "s", "hs_pipeline": "0", "hs_pipeline_stage": "closedwon"}
    assert await refused(http, sandbox, "/crm/v3/objects/tickets", ticket) == [
        ("hs_pipeline_stage", "INVALID_OPTION")
    ]
    status, created, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/deals",
        {"properties": {"dealname": "d", "dealstage": "appointmentscheduled"}},
    )  # fmt: skip
    assert (status, created["properties"]["pipeline"]) == (201, "default")
    status, body, _ = await call(
        http, sandbox, "PATCH", f"/crm/v3/objects/deals/{created['id']}",
        {"properties": {"dealstage": "2"}},
    )  # fmt: skip
    assert (status, problems(body)[0]["name"]) == (400, "dealstage")


async def test_required_properties_per_type(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    for path, properties, missing in (
        ("deals", {"dealname": "d"}, ["dealstage"]),
        ("deals", {"dealstage": "closedwon"}, ["dealname"]),
        ("tickets", {"hs_pipeline_stage": "1"}, ["subject"]),
        ("tickets", {"subject": "s"}, ["hs_pipeline_stage"]),
        ("notes", {"hs_note_body": "n"}, ["hs_timestamp"]),
        ("calls", {"hs_call_title": "c"}, ["hs_timestamp"]),
        ("tasks", {"hs_task_subject": "t"}, ["hs_timestamp"]),
    ):
        found = await refused(http, sandbox, f"/crm/v3/objects/{path}", properties)
        assert found == [(name, "REQUIRED_FIELD") for name in missing], path


async def test_numbers_datetimes_and_text_length(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    deal = {"dealname": "d", "dealstage": "closedwon", "amount": "lots", "closedate": "soon"}
    assert await refused(http, sandbox, "/crm/v3/objects/deals", deal) == [
        ("amount", "INVALID_FLOAT"),
        ("closedate", "INVALID_DATETIME"),
    ]
    note = {"hs_timestamp": NOW, "hs_note_body": "x" * 65_537}
    assert await refused(http, sandbox, "/crm/v3/objects/notes", note) == [
        ("hs_note_body", "INVALID_LONG_STRING")
    ]


async def test_batch_create_refuses_as_a_whole_or_per_input(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """Without trace ids a bad input fails the batch (nothing stored); with them, the good
    inputs are created and the bad one is reported with HubSpot's message and its trace id."""
    inputs = [
        {"properties": {"hs_timestamp": NOW, "hs_call_status": "COMPLETED"}},
        {"properties": {"hs_timestamp": NOW, "hs_call_status": "HUNG_UP"}},
    ]
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/calls/batch/create", {"inputs": inputs}
    )
    assert (status, problems(body)[0]["name"]) == (400, "hs_call_status")
    assert sandbox.stats().objects["calls"] == 0
    traced = [{**entry, "objectWriteTraceId": f"t{i}"} for i, entry in enumerate(inputs)]
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/calls/batch/create", {"inputs": traced}
    )
    assert (status, len(body["results"]), body["numErrors"]) == (207, 1, 1)
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["t1"]
    assert "HUNG_UP" in body["errors"][0]["message"]


async def test_association_types_must_fit_the_pair(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """Inline: 279 leads from a contact to a company, so a note cannot use it; v4: a type id of
    another pair is a per-input error while the HubSpot-defined one is accepted."""
    _, contact, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "a@b.co"}}
    )
    association: dict[str, Any] = {"to": {"id": contact["id"]}, "types": [defined(279)]}
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/notes",
        {"properties": {"hs_timestamp": NOW}, "associations": [association]},
    )  # fmt: skip
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")
    association["types"] = [defined(202)]
    status, note, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/notes",
        {"properties": {"hs_timestamp": NOW}, "associations": [association]},
    )  # fmt: skip
    assert status == 201
    link = {"from": {"id": note["id"]}, "to": {"id": contact["id"]}}
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v4/associations/notes/contacts/batch/create",
        {"inputs": [{**link, "types": [defined(194)]}, {**link, "types": [defined(202)]}]},
    )  # fmt: skip
    assert (status, len(body["results"]), body["numErrors"]) == (207, 1, 1)
    assert body["errors"][0]["category"] == "VALIDATION_ERROR"


async def test_a_lifecycle_stage_does_not_move_backwards(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """As HubSpot does, a stage sent backwards leaves the stage as it was (counted in stats);
    clearing it first allows any stage; with lifecycle_backwards=refuse it is a 400."""
    sandbox = await sandbox_factory()
    _, contact, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts",
        {"properties": {"email": "a@b.co", "lifecyclestage": "customer"}},
    )  # fmt: skip
    path = f"/crm/v3/objects/contacts/{contact['id']}"
    status, body, _ = await call(
        http, sandbox, "PATCH", path, {"properties": {"lifecyclestage": "lead", "city": "Oslo"}}
    )
    assert status == 200
    assert (body["properties"]["lifecyclestage"], body["properties"]["city"]) == (
        "customer",
        "Oslo",
    )
    assert sandbox.stats().lifecycle_ignored == 1
    await call(http, sandbox, "PATCH", path, {"properties": {"lifecyclestage": ""}})
    _, body, _ = await call(
        http, sandbox, "PATCH", path, {"properties": {"lifecyclestage": "lead"}}
    )
    assert body["properties"]["lifecyclestage"] == "lead"
    sandbox.reconfigure(lifecycle_backwards="refuse")
    await call(http, sandbox, "PATCH", path, {"properties": {"lifecyclestage": "opportunity"}})
    status, body, _ = await call(
        http, sandbox, "PATCH", path, {"properties": {"lifecyclestage": "subscriber"}}
    )
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")
    assert body["errors"][0]["context"] == {"propertyName": ["lifecyclestage"]}


async def test_upsert_does_not_move_a_lifecycle_stage_backwards(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    inputs: list[dict[str, Any]] = [
        {"id": "a@b.co", "idProperty": "email", "properties": {"lifecyclestage": "customer"}}
    ]
    path = "/crm/v3/objects/contacts/batch/upsert"
    await call(http, sandbox, "POST", path, {"inputs": inputs})
    inputs[0]["properties"]["lifecyclestage"] = "subscriber"
    status, body, _ = await call(http, sandbox, "POST", path, {"inputs": inputs})
    assert status == 200
    assert body["results"][0]["properties"]["lifecyclestage"] == "customer"


async def test_pipelines_groups_and_properties_endpoints(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """The default deal and ticket pipelines with their stages; groups can be created once;
    a property needs an existing group, and an enumeration's options bound its values."""
    status, body, _ = await call(http, sandbox, "GET", "/crm/v3/pipelines/deals")
    assert status == 200
    (pipeline,) = body["results"]
    assert pipeline["id"] == "default"
    stages = [s["id"] for s in pipeline["stages"]]
    assert stages[0] == "appointmentscheduled"
    assert {"closedwon", "closedlost"} <= set(stages)
    _, body, _ = await call(http, sandbox, "GET", "/crm/v3/pipelines/tickets/0")
    assert [s["id"] for s in body["stages"]] == ["1", "2", "3", "4"]
    assert (await call(http, sandbox, "GET", "/crm/v3/pipelines/contacts"))[0] == 400

    group = {"name": "simcrm", "label": "SimCRM"}
    status, body, _ = await call(http, sandbox, "POST", "/crm/v3/properties/deals/groups", group)
    assert (status, body["name"]) == (201, "simcrm")
    assert (await call(http, sandbox, "POST", "/crm/v3/properties/deals/groups", group))[0] == 409
    _, body, _ = await call(http, sandbox, "GET", "/crm/v3/properties/deals/groups")
    assert "simcrm" in [g["name"] for g in body["results"]]

    spec = {"name": "tier_level", "label": "Tier", "type": "enumeration", "fieldType": "select",
            "groupName": "nowhere", "options": [{"label": "Gold", "value": "gold"}]}  # fmt: skip
    status, body, _ = await call(http, sandbox, "POST", "/crm/v3/properties/deals", spec)
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")
    spec["groupName"] = "simcrm"
    assert (await call(http, sandbox, "POST", "/crm/v3/properties/deals", spec))[0] == 201
    deal = {"dealname": "d", "dealstage": "closedwon", "tier_level": "silver"}
    assert await refused(http, sandbox, "/crm/v3/objects/deals", deal) == [
        ("tier_level", "INVALID_OPTION")
    ]
    _, body, _ = await call(http, sandbox, "GET", "/crm/v3/properties/contacts/lifecyclestage")
    assert [o["value"] for o in body["options"]][:2] == ["subscriber", "lead"]
    _, body, _ = await call(http, sandbox, "GET", "/crm/v3/properties/contacts")
    assert {"email", "lifecyclestage", "hs_lead_status"} <= {p["name"] for p in body["results"]}


async def test_oversized_batches_and_bodies(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    inputs = [{"properties": {"hs_timestamp": NOW}}] * 101
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/notes/batch/create", {"inputs": inputs}
    )
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")
    assert "maximum number of inputs" in body["message"]
    huge = {"inputs": [{"properties": {"hs_timestamp": NOW, "hs_note_body": "x" * 60_000}}] * 300}
    async with http.post(
        sandbox.url + "/crm/v3/objects/notes/batch/create",
        data=io.BytesIO(json.dumps(huge).encode()),
        headers={"Content-Type": "application/json"},
    ) as answer:
        assert answer.status == 413
        assert (await answer.json())["category"] == "VALIDATION_ERROR"


async def test_a_portal_can_change_its_options_and_pipelines(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """Lifecycle stages are customisable (new options, in their order, bound values and the
    forward-only rule); a pipeline can be archived, after which its stages are refused;
    uniqueness cannot be switched on later."""
    options = [{"label": s.title(), "value": s} for s in ("lead", "trial", "customer")]
    status, body, _ = await call(
        http, sandbox, "PATCH", "/crm/v3/properties/contacts/lifecyclestage", {"options": options}
    )
    assert (status, [o["value"] for o in body["options"]]) == (200, ["lead", "trial", "customer"])
    assert await refused(
        http, sandbox, "/crm/v3/objects/contacts", {"lifecyclestage": "subscriber"}
    ) == [("lifecyclestage", "INVALID_OPTION")]
    _, contact, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts",
        {"properties": {"email": "a@b.co", "lifecyclestage": "trial"}},
    )  # fmt: skip
    path = f"/crm/v3/objects/contacts/{contact['id']}"
    _, body, _ = await call(
        http, sandbox, "PATCH", path, {"properties": {"lifecyclestage": "lead"}}
    )
    assert body["properties"]["lifecyclestage"] == "trial"

    assert (await call(http, sandbox, "DELETE", "/crm/v3/pipelines/deals/default"))[0] == 204
    deal = {"dealname": "d", "pipeline": "default", "dealstage": "closedwon"}
    assert await refused(http, sandbox, "/crm/v3/objects/deals", deal) == [
        ("pipeline", "INVALID_OPTION")
    ]
    assert (await call(http, sandbox, "GET", "/crm/v3/pipelines/deals/default"))[0] == 404

    spec = {"name": "simcrm_key", "label": "Key", "type": "string", "fieldType": "text",
            "groupName": "contactinformation"}  # fmt: skip
    await call(http, sandbox, "POST", "/crm/v3/properties/contacts", spec)
    status, body, _ = await call(
        http, sandbox, "PATCH", "/crm/v3/properties/contacts/simcrm_key", {"hasUniqueValue": True}
    )
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")
