"""HubSpot's official Python SDK (``hubspot-api-client``) against the twin: the twin accepts
what the SDK sends, and the SDK parses what the twin answers (its client-side validation on),
for batch creates of every type, search, associations, properties, groups and pipelines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

import pytest
from hubspot import HubSpot
from hubspot.crm import companies as sdk_companies
from hubspot.crm import contacts as sdk_contacts
from hubspot.crm import deals as sdk_deals
from hubspot.crm import pipelines, properties
from hubspot.crm import tickets as sdk_tickets
from hubspot.crm.associations.v4 import models as v4
from hubspot.crm.contacts import models as contact_models
from hubspot.crm.objects import calls as sdk_calls
from hubspot.crm.objects import notes as sdk_notes
from hubspot.crm.objects import tasks as sdk_tasks

from core.clock import ManualClock
from sandbox import Sandbox
from tests.support.sandboxes import TOKEN

T = TypeVar("T")
NOW = "1767603600000"
EXAMPLES: dict[str, tuple[ModuleType, dict[str, str]]] = {
    "contacts": (sdk_contacts, {"email": "ann@example.com", "lifecyclestage": "lead"}),
    "companies": (sdk_companies, {"name": "Acme", "domain": "acme.example"}),
    "deals": (sdk_deals, {"dealname": "Acme deal", "dealstage": "qualifiedtobuy", "amount": "10"}),
    "tickets": (sdk_tickets, {"subject": "Broken", "hs_pipeline_stage": "1",
                              "hs_ticket_priority": "HIGH"}),
    "notes": (sdk_notes, {"hs_timestamp": NOW, "hs_note_body": "Met"}),
    "calls": (sdk_calls, {"hs_timestamp": NOW, "hs_call_status": "COMPLETED",
                          "hs_call_direction": "OUTBOUND", "hs_call_duration": "60000"}),
    "tasks": (sdk_tasks, {"hs_timestamp": NOW, "hs_task_status": "NOT_STARTED",
                          "hs_task_priority": "HIGH", "hs_task_type": "TODO"}),
}  # fmt: skip


@pytest.fixture
def client(sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=TOKEN, host=sandbox.url)


def api(client: HubSpot, path: str) -> Any:
    """The SDK's discovery object for a type (``client.crm.contacts``, ``…objects.notes``)."""
    crm = client.crm
    return getattr(crm.objects, path) if path in ("notes", "calls", "tasks") else getattr(crm, path)


def distinct(example: dict[str, str], index: int) -> dict[str, str]:
    """The example with an email of its own (a portal keeps contact emails unique)."""
    if "email" not in example:
        return example
    return {**example, "email": f"{index}.{example['email']}"}


async def sdk(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call off the loop the sandbox serves on."""
    return await asyncio.to_thread(function, *args, **kwargs)


@pytest.mark.parametrize("path", list(EXAMPLES))
async def test_batch_create_of_every_type(client: HubSpot, sandbox: Sandbox, path: str) -> None:
    module, example = EXAMPLES[path]
    models = module.models
    batch = models.BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            models.SimplePublicObjectBatchInputForCreate(
                properties=distinct(example, i), associations=[], object_write_trace_id=f"t{i}"
            )
            for i in range(2)
        ]
    )
    answer = await sdk(api(client, path).batch_api.create, batch)
    assert answer.status == "COMPLETE"
    assert len(answer.results) == 2
    for result in answer.results:
        assert result.id.isdigit()
        sent = {k: v for k, v in example.items() if k not in ("hs_timestamp", "email")}
        assert {k: result.properties[k] for k in sent} == sent
    assert sandbox.stats().objects[path] == 2


async def test_search_finds_what_was_created(
    client: HubSpot, sandbox: Sandbox, manual_clock: ManualClock
) -> None:
    created = await sdk(
        client.crm.contacts.basic_api.create,
        contact_models.SimplePublicObjectInputForCreate(
            properties={"email": "bo@example.com", "firstname": "Bo"}
        ),
    )
    manual_clock.advance(5_000)  # past the search index's lag
    request = contact_models.PublicObjectSearchRequest(
        filter_groups=[
            contact_models.FilterGroup(
                filters=[
                    contact_models.Filter(
                        property_name="email", operator="EQ", value="bo@example.com"
                    )
                ]
            )
        ],
        properties=["email", "firstname"],
        limit=10,
    )
    found = await sdk(client.crm.contacts.search_api.do_search, request)
    assert found.total == 1
    assert (found.results[0].id, found.results[0].properties["firstname"]) == (created.id, "Bo")


async def test_associations_inline_and_in_batches(client: HubSpot, sandbox: Sandbox) -> None:
    contact = await sdk(
        client.crm.contacts.basic_api.create,
        contact_models.SimplePublicObjectInputForCreate(properties={"email": "cy@example.com"}),
    )
    spec = sdk_notes.models.AssociationSpec(
        association_category="HUBSPOT_DEFINED", association_type_id=202
    )
    note = await sdk(
        client.crm.objects.notes.basic_api.create,
        sdk_notes.models.SimplePublicObjectInputForCreate(
            properties={"hs_timestamp": NOW},
            associations=[
                sdk_notes.models.PublicAssociationsForObject(
                    to=sdk_notes.models.PublicObjectId(id=contact.id), types=[spec]
                )
            ],
        ),
    )
    company = await sdk(
        client.crm.companies.basic_api.create,
        sdk_companies.models.SimplePublicObjectInputForCreate(properties={"name": "Acme"}),
    )
    batch = v4.BatchInputPublicAssociationMultiPost(
        inputs=[
            v4.PublicAssociationMultiPost(
                _from=v4.PublicObjectId(id=contact.id),
                to=v4.PublicObjectId(id=company.id),
                types=[
                    v4.AssociationSpec(
                        association_category="HUBSPOT_DEFINED", association_type_id=279
                    )
                ],
            )
        ]
    )
    answer = await sdk(client.crm.associations.v4.batch_api.create, "contacts", "companies", batch)
    assert (answer.results[0].from_object_id, answer.results[0].to_object_id) == (
        contact.id,
        company.id,
    )
    (stored,) = sandbox.objects("contacts")
    assert {(link.to_type.path, link.to_id) for link in stored.associations} == {
        ("notes", note.id),
        ("companies", company.id),
    }


async def test_properties_groups_and_pipelines(client: HubSpot, sandbox: Sandbox) -> None:
    group = await sdk(
        client.crm.properties.groups_api.create,
        "deals",
        properties.PropertyGroupCreate(name="simcrm", label="SimCRM"),
    )
    assert group.name == "simcrm"
    created = await sdk(
        client.crm.properties.core_api.create,
        "deals",
        properties.PropertyCreate(
            name="simcrm_key", label="SimCRM key", type="string", field_type="text",
            group_name="simcrm", has_unique_value=True,
        ),
    )  # fmt: skip
    assert (created.name, created.has_unique_value) == ("simcrm_key", True)
    listed = await sdk(client.crm.properties.core_api.get_all, "deals")
    assert {"simcrm_key", "dealstage", "pipeline"} <= {p.name for p in listed.results}
    found = await sdk(client.crm.pipelines.pipelines_api.get_all, "deals")
    assert found.results[0].id == "default"
    assert "closedwon" in [stage.id for stage in found.results[0].stages]
    assert isinstance(found.results[0], pipelines.Pipeline)


async def test_refusals_reach_the_sdk_as_hubspot_errors(client: HubSpot, sandbox: Sandbox) -> None:
    request = sdk_calls.models.SimplePublicObjectInputForCreate(
        properties={"hs_timestamp": NOW, "hs_call_status": "HUNG_UP"}
    )
    with pytest.raises(sdk_calls.ApiException) as refused:
        await sdk(client.crm.objects.calls.basic_api.create, request)
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["context"] == {"propertyName": ["hs_call_status"]}
