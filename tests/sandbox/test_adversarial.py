"""Each adversarial mode as a client meets it over real HTTP, and each drawn from the seed:
writes committed and then answered with a gateway error or never answered, a search lag drawn
per object, batch results out of order, no trace-id echo, other duplicate-value wordings."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from core.clock import ManualClock
from sandbox import Sandbox
from tests.sandbox.conftest import call
from tests.support.sandboxes import SandboxFactory

NOTES = "/crm/v3/objects/notes"


def notes(count: int, traced: bool = False) -> dict[str, Any]:
    inputs: list[dict[str, Any]] = [
        {"properties": {"hs_timestamp": "1767603600000", "hs_note_body": f"n{i}"}}
        for i in range(count)
    ]
    if traced:
        for i, entry in enumerate(inputs):
            entry["objectWriteTraceId"] = f"trace-{i}"
    return {"inputs": inputs}


async def test_applied_then_gateway_error_commits_the_write(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """The batch is stored, yet the client reads an edge 524; an update likewise; searches and
    reads are answered as usual; stats count each by status."""
    sandbox = await sandbox_factory(applied_error_rate=1.0, applied_errors=(524,))
    status, body, _ = await call(http, sandbox, "POST", f"{NOTES}/batch/create", notes(3))
    assert (status, body) == (524, "error code: 524")
    assert sandbox.stats().objects["notes"] == 3
    note = sandbox.objects("notes")[0]
    status, _, _ = await call(
        http, sandbox, "PATCH", f"{NOTES}/{note.id}", {"properties": {"hs_note_body": "changed"}}
    )
    assert status == 524
    assert sandbox.objects("notes")[0].properties["hs_note_body"] == "changed"
    assert (await call(http, sandbox, "GET", f"{NOTES}/{note.id}"))[0] == 200
    assert (await call(http, sandbox, "POST", f"{NOTES}/search", {}))[0] == 200
    assert sandbox.stats().faults == {"applied-524": 2}


async def test_applied_then_timeout_commits_and_never_answers(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(applied_timeout_rate=1.0, applied_timeout_ms=50)
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, sandbox, "POST", f"{NOTES}/batch/create", notes(2))
    assert sandbox.stats().objects["notes"] == 2
    assert sandbox.stats().faults == {"applied-timeout": 1}


async def _statuses(sandbox: Sandbox, http: aiohttp.ClientSession, count: int) -> list[int]:
    return [
        (await call(http, sandbox, "POST", NOTES, notes(1)["inputs"][0]))[0] for _ in range(count)
    ]


async def test_applied_errors_are_drawn_from_the_seed(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    fields = {"applied_error_rate": 0.5, "seed": 11}
    first = await _statuses(await sandbox_factory(**fields), http, 30)
    again = await _statuses(await sandbox_factory(**fields), http, 30)
    other = await _statuses(await sandbox_factory(**{**fields, "seed": 12}), http, 30)
    assert first == again
    assert first != other
    assert {201, 502, 504, 524} == set(first)


async def _visible(http: aiohttp.ClientSession, sandbox: Sandbox) -> int:
    _, body, _ = await call(http, sandbox, "POST", f"{NOTES}/search", {"limit": 100})
    total: int = body["total"]
    return total


async def test_search_lag_is_drawn_per_object(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory, manual_clock: ManualClock
) -> None:
    """Objects created together become searchable one by one between the range's ends."""
    sandbox = await sandbox_factory(
        search_lag_ms=1_000, search_lag_max_ms=60_000, seed=5, search_per_second=100
    )
    await call(http, sandbox, "POST", f"{NOTES}/batch/create", notes(20))
    seen = []
    for _ in range(61):
        seen.append(await _visible(http, sandbox))
        manual_clock.advance(1_000)
    assert seen[0] == 0
    assert seen[-1] == 20
    assert len(set(seen)) > 5  # visibility spread over the range, not all at once
    assert seen == sorted(seen)


async def test_batch_results_may_come_in_any_order(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    async def bodies(sandbox: Sandbox) -> list[str]:
        _, body, _ = await call(http, sandbox, "POST", f"{NOTES}/batch/create", notes(30))
        return [r["properties"]["hs_note_body"] for r in body["results"]]

    in_order = await bodies(await sandbox_factory())
    assert in_order == [f"n{i}" for i in range(30)]
    shuffled = await bodies(await sandbox_factory(shuffle_results=True, seed=2))
    assert shuffled != in_order
    assert sorted(shuffled) == sorted(in_order)
    assert await bodies(await sandbox_factory(shuffle_results=True, seed=2)) == shuffled


async def test_trace_ids_may_not_be_echoed(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    for echo in (True, False):
        sandbox = await sandbox_factory(echo_trace_ids=echo)
        _, body, _ = await call(
            http, sandbox, "POST", f"{NOTES}/batch/create", notes(2, traced=True)
        )
        assert all(("objectWriteTraceId" in r) is echo for r in body["results"])


async def test_duplicate_values_are_refused_in_several_wordings(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """Every refusal is a 400 or a 409 and nothing is created, but the wording varies: a client
    that matches text would miss some."""
    sandbox = await sandbox_factory(duplicate_wordings=True, seed=4)
    spec = {"name": "simcrm_key", "label": "Key", "type": "string", "fieldType": "text",
            "groupName": "companyinformation", "hasUniqueValue": True}  # fmt: skip
    await call(http, sandbox, "POST", "/crm/v3/properties/companies", spec)
    company = {"properties": {"name": "Acme", "simcrm_key": "k1"}}
    assert (await call(http, sandbox, "POST", "/crm/v3/objects/companies", company))[0] == 201
    answers = set()
    for _ in range(30):
        status, body, _ = await call(http, sandbox, "POST", "/crm/v3/objects/companies", company)
        answers.add((status, body["category"], body["message"]))
    assert {status for status, _, _ in answers} == {400, 409}
    assert len({message for _, _, message in answers}) >= 4
    assert not all("already has that value" in message for _, _, message in answers)
    assert sandbox.stats().objects["companies"] == 1


async def test_adversarial_turns_every_mode_on(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    change = {"adversarial": True, "applied_error_rate": 0.1}
    async with http.patch(sandbox.url + "/__sandbox/config", json=change) as r:
        assert r.status == 200
        config = await r.json()
    assert config["applied_error_rate"] == 0.1  # set explicitly: it wins
    assert config["applied_timeout_rate"] > 0
    assert (config["search_lag_ms"], config["search_lag_max_ms"]) == (1_000, 60_000)
    assert config["shuffle_results"] is True
    assert config["echo_trace_ids"] is False
    assert config["duplicate_wordings"] is True


async def test_no_adversarial_mode_is_on_by_default(sandbox: Sandbox) -> None:
    config = sandbox.config
    assert (config.applied_error_rate, config.applied_timeout_rate) == (0.0, 0.0)
    assert config.search_lag_max_ms is None
    assert (config.shuffle_results, config.echo_trace_ids, config.duplicate_wordings) == (
        False,
        True,
        False,
    )
