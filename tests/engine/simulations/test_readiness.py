"""A simulation starts only in a HubSpot account that can take it: the twin's pipelines, stages
and lifecycle options are checked, a non-unique ``simcrm_key`` is refused, and a fit account gets
SimCRM's properties (``simcrm_key`` unique, in its own group) before the first object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from engine.crm import HubSpotTransport
from engine.simulations import HubSpotTokens, PortalNotReady, Portals, Simulations
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from schema.users import User
from tests.engine.simulations.conftest import BODY

TOKEN = "sandbox-token"


@pytest.fixture
async def service(store: Store, sandbox: Sandbox) -> AsyncIterator[Simulations]:
    """The simulations service with the portals: starts check the sandbox's account."""
    async with (
        HubSpotTransport("http://127.0.0.1:9") as hubspot,
        HubSpotTransport(sandbox.url) as twin,
    ):
        tokens = HubSpotTokens(store)
        portals = Portals(tokens, hubspot=hubspot, sandbox=twin, sandbox_token=SecretStr(TOKEN))
        yield Simulations(store, tokens, portals=portals)


async def hubspot_get(sandbox: Sandbox, path: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{sandbox.url}{path}") as response,
    ):
        return response.status, await response.json()


async def test_an_account_lacking_the_scenarios_stages_is_named_and_not_started(
    service: Simulations, store: Store, owner: User
) -> None:
    """Overrides naming a deal pipeline and a lifecycle stage the account does not have: the
    start is refused with both named, and the simulation stays a draft."""
    body = {
        **BODY,
        "target": "sandbox",
        "scenario_overrides": {
            "deals": {"pipeline": "enterprise"},
            "lifecycle": {"stages": ["lead", "vip", "customer"]},
        },
    }
    row = await service.create(owner.id, body)
    with pytest.raises(PortalNotReady) as refused:
        await service.start(row.id)
    text = " | ".join(refused.value.problems)
    assert "deal pipeline 'enterprise'" in text and "deals.pipeline" in text
    assert "'vip'" in text and "lifecyclestage" in text
    assert (await store.simulations.get(row.id)).status is SimulationStatus.DRAFT


async def test_stages_out_of_the_accounts_order_are_refused(
    service: Simulations, owner: User
) -> None:
    """A lifecycle progression that runs against the account's order would move contacts back:
    refused at start."""
    overrides = {"lifecycle": {"stages": ["customer", "lead"]}}
    row = await service.create(
        owner.id, {**BODY, "target": "sandbox", "scenario_overrides": overrides}
    )
    with pytest.raises(PortalNotReady, match="moved back"):
        await service.start(row.id)


async def test_a_non_unique_simcrm_key_is_reported_with_its_type(
    service: Simulations, sandbox: Sandbox, owner: User
) -> None:
    """An account whose companies already have a ``simcrm_key`` without a unique value cannot
    rule out duplicate companies: the start names the type and the property."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    definition = {
        "name": "simcrm_key", "label": "Key", "type": "string", "fieldType": "text",
        "groupName": "companyinformation", "hasUniqueValue": False,
    }  # fmt: skip
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(f"{sandbox.url}/crm/v3/properties/companies", json=definition) as response,
    ):
        assert response.status == 201
    row = await service.create(owner.id, {**BODY, "target": "sandbox"})
    with pytest.raises(PortalNotReady) as refused:
        await service.start(row.id)
    assert refused.value.problems == [refused.value.problems[0]]
    assert "companies property 'simcrm_key'" in refused.value.problems[0]
    assert "unique" in refused.value.problems[0]


async def test_a_fit_account_starts_with_simcrm_properties_made_unique_in_their_group(
    service: Simulations, sandbox: Sandbox, owner: User
) -> None:
    """The built-in scenario fits a fresh account: the simulation starts, and the account has
    ``simcrm_key`` unique on companies, deals and tickets, not on notes, all in group simcrm."""
    row = await service.create(owner.id, {**BODY, "scenario": "support_heavy", "target": "sandbox"})
    assert (await service.start(row.id)).status is SimulationStatus.RUNNING
    status, groups = await hubspot_get(sandbox, "/crm/v3/properties/tickets/groups")
    assert status == 200 and "simcrm" in {g["name"] for g in groups["results"]}
    for path, unique in (("tickets", True), ("notes", False)):
        status, found = await hubspot_get(sandbox, f"/crm/v3/properties/{path}/simcrm_key")
        assert status == 200, path
        assert (found["hasUniqueValue"], found["groupName"]) == (unique, "simcrm"), path
