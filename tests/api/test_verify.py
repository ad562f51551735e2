"""``/api/simulations/{id}/verify`` and ``simcrm sim verify``: the CRM counted by key, over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from engine.crm import HubSpotTransport, ObjectInput, ObjectType, PortalClient
from tests.api.conftest import BODY, Stack, error_of
from tests.cli.test_sim_client import simcrm

TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"


async def _call(
    stack: Stack, who: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {stack.keys[who]}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, stack.url.rstrip("/") + path, json=body, headers=headers) as answer,
    ):
        return answer.status, await answer.json()


async def _completed_run(stack: Stack, records: int = 40) -> int:
    status, sim = await _call(
        stack, "member", "POST", "/api/simulations", {**BODY, "total_records": records}
    )
    assert status == 201, sim
    status, _ = await _call(stack, "member", "POST", f"/api/simulations/{sim['id']}/start")
    assert status == 200
    for _ in range(600):
        status, row = await _call(stack, "member", "GET", f"/api/simulations/{sim['id']}")
        if row["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert row["status"] == "completed", row
    await asyncio.sleep(stack.sandbox.config.search_lag_ms / 1000 + 0.1)
    return int(sim["id"])


async def test_verify_over_the_api_and_the_command_line(stack: Stack) -> None:
    """A completed run verifies clean over the API (for its owner and a boss, not for another
    member); a note doubled behind its back is reported by the API and by `simcrm sim verify`
    (exit 1), `--fix` archives it (exit 0), and verify is clean again."""
    sim_id = await _completed_run(stack)
    path = f"/api/simulations/{sim_id}/verify"
    status, clean = await _call(stack, "member", "GET", path)
    assert status == 200, clean
    assert clean["ok"] and clean["duplicates"] == 0 and clean["missing"] == 0
    contacts = next(t for t in clean["types"] if t["objectType"] == "contacts")
    assert contacts["inCrm"] == contacts["created"] == contacts["planned"] == 40
    assert (await _call(stack, "boss", "GET", path))[0] == 200
    status, body = await _call(stack, "other", "GET", path)
    assert status == 404, body
    error_of(body)

    note = next(o for o in stack.sandbox.objects("notes") if not o.archived)
    async with HubSpotTransport(stack.sandbox.url) as transport:
        portal = PortalClient(transport, stack.sandbox.config.portal_id, TOKEN)
        await portal.create(ObjectType.NOTE, ObjectInput(dict(note.properties)))
    await asyncio.sleep(stack.sandbox.config.search_lag_ms / 1000 + 0.1)

    code, out = await simcrm(stack, "sim", "verify", str(sim_id))
    assert code == 1, out
    assert f"doubled notes: {note.properties['simcrm_key']}" in out
    code, out = await simcrm(stack, "sim", "verify", str(sim_id), "--fix", "--json")
    assert code == 0, out
    fixed = orjson.loads(out)
    assert fixed["fixed"] and fixed["duplicates"] == 1 and fixed["duplicatesLeft"] == 0
    await asyncio.sleep(stack.sandbox.config.search_lag_ms / 1000 + 0.1)
    code, out = await simcrm(stack, "sim", "verify", str(sim_id))
    assert code == 0, out
    assert "every recorded object is in the CRM exactly once" in out


async def test_fix_is_a_conflict_until_the_simulation_ends(stack: Stack) -> None:
    """Fixing a draft is refused with 409 naming its status; nothing is searched."""
    status, sim = await _call(stack, "member", "POST", "/api/simulations", BODY)
    assert status == 201
    status, body = await _call(stack, "member", "POST", f"/api/simulations/{sim['id']}/verify/fix")
    assert status == 409, body
    assert "draft" in error_of(body)["message"]
