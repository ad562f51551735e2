"""The sandbox answers with HubSpot's shapes (research/hubspot-api.md §1, §4, §5, §9), checked
with a plain HTTP client so nothing of ours interprets the answers."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from core.clock import ManualClock
from sandbox import Fault, Sandbox
from sandbox.hubspot import ObjectType
from tests.sandbox.conftest import call
from tests.support.sandboxes import SandboxFactory

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def assert_simple_object(obj: dict[str, Any]) -> None:
    """A SimplePublicObject: numeric-string id, string (or null) properties, ISO times."""
    assert {"id", "properties", "createdAt", "updatedAt", "archived"} <= set(obj)
    assert isinstance(obj["id"], str)
    assert obj["id"].isdigit()
    assert all(v is None or isinstance(v, str) for v in obj["properties"].values())
    assert ISO.match(obj["createdAt"])
    assert ISO.match(obj["updatedAt"])
    assert obj["archived"] is False


async def test_create_answers_201_with_a_simple_public_object(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """POST /crm/v3/objects/contacts → 201; values become strings; system properties echoed."""
    status, body, headers = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts",
        {"properties": {"email": "a@b.co", "zip": 41, "firstname": "Ann"}},
    )  # fmt: skip
    assert status == 201
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert_simple_object(body)
    props = body["properties"]
    assert (props["zip"], props["firstname"], props["hs_object_id"]) == ("41", "Ann", body["id"])
    assert ISO.match(props["createdate"])
    assert ISO.match(props["lastmodifieddate"])


async def test_batch_create_shapes_201_and_207(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """Batch create: 201 {status COMPLETE, results, startedAt, completedAt}; with trace ids and
    a bad input, 207 adding numErrors and errors carrying the input's objectWriteTraceId."""
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/companies/batch/create",
        {"inputs": [{"properties": {"name": "A"}}]},
    )  # fmt: skip
    assert status == 201
    assert set(body) == {"status", "results", "startedAt", "completedAt"}
    assert body["status"] == "COMPLETE"
    assert_simple_object(body["results"][0])
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/notes/batch/create",
        {"inputs": [
            {"properties": {"hs_timestamp": "1767603600000"}, "objectWriteTraceId": "t1"},
            {"properties": {"hs_note_body": "no time"}, "objectWriteTraceId": "t2"},
        ]},
    )  # fmt: skip
    assert status == 207
    assert body["numErrors"] == 1
    assert body["results"][0]["objectWriteTraceId"] == "t1"
    (error,) = body["errors"]
    assert error["category"] == "VALIDATION_ERROR"
    assert error["context"] == {"objectWriteTraceId": ["t2"]}
    assert {"status", "category", "message", "context", "errors", "links"} <= set(error)


async def test_rate_limit_headers_on_api_answers(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """Every counted answer carries the §4.2 headers (daily pair included unless there is no
    daily limit); search answers carry none."""
    sandbox = await sandbox_factory(tier=190, daily_limit=625_000)
    _, _, headers = await call(http, sandbox, "GET", "/crm/v3/objects/deals")
    assert headers["X-HubSpot-RateLimit-Max"] == "190"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "189"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert headers["X-HubSpot-RateLimit-Secondly"] == "19"
    assert headers["X-HubSpot-RateLimit-Daily"] == "625000"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "624999"
    _, _, searched = await call(http, sandbox, "POST", "/crm/v3/objects/deals/search", {})
    assert not any(h.startswith("X-HubSpot-RateLimit") for h in searched)
    oauth = await sandbox_factory(daily_limit=0)
    _, _, headers = await call(http, oauth, "GET", "/crm/v3/objects/deals")
    assert "X-HubSpot-RateLimit-Daily" not in headers
    assert headers["X-HubSpot-RateLimit-Max"] == "100"


async def test_429_bodies_per_policy(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory, manual_clock: ManualClock
) -> None:
    """Past the burst limit: HubSpot's TEN_SECONDLY_ROLLING body; past the daily limit: the
    DAILY body; past the search limit: the RATE_LIMITS body. Retry-After only when configured."""
    sandbox = await sandbox_factory(tier=2, daily_limit=3, search_per_second=1)
    for _ in range(2):
        assert (await call(http, sandbox, "GET", "/crm/v3/objects/tasks"))[0] == 200
    status, body, headers = await call(http, sandbox, "GET", "/crm/v3/objects/tasks")
    assert status == 429
    assert "Retry-After" not in headers
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert (body["errorType"], body["message"]) == (
        "RATE_LIMIT",
        "You have reached your ten_secondly_rolling limit.",
    )
    assert body["groupName"].startswith("publicapi:private_app-api-calls-ten-secondly:")
    assert headers["X-HubSpot-RateLimit-Remaining"] == "0"
    manual_clock.advance(10_000)
    sandbox.reconfigure(retry_after_s=4)
    assert (await call(http, sandbox, "GET", "/crm/v3/objects/tasks"))[0] == 200
    status, body, headers = await call(http, sandbox, "GET", "/crm/v3/objects/tasks")
    assert (status, body["policyName"], body["message"]) == (
        429,
        "DAILY",
        "You have reached your daily limit.",
    )
    assert headers["Retry-After"] == "4"
    sandbox.reconfigure(daily_limit=100)
    assert (await call(http, sandbox, "POST", "/crm/v3/objects/tasks/search", {}))[0] == 200
    status, body, _ = await call(http, sandbox, "POST", "/crm/v3/objects/tasks/search", {})
    assert (status, body["category"], body["message"]) == (
        429,
        "RATE_LIMITS",
        "You have reached your secondly limit.",
    )
    assert "policyName" not in body
    assert sandbox.stats().rate_limited == {"TEN_SECONDLY_ROLLING": 1, "DAILY": 1, "SECONDLY": 1}


async def test_a_bad_token_gets_401(sandbox_factory: SandboxFactory) -> None:
    """A token the account does not know: 401 INVALID_AUTHENTICATION and x-hubspot-auth-failure."""
    sandbox = await sandbox_factory(tokens=("pat-good",))
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer pat-bad"}) as http:
        status, body, headers = await call(http, sandbox, "GET", "/crm/v3/objects/contacts")
    assert status == 401
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert headers["x-hubspot-auth-failure"] == "401 Unauthorized"


async def test_more_than_100_inputs_is_hubspots_400(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """101 inputs to any batch endpoint: 400 VALIDATION_ERROR with HubSpot's message."""
    for action in ("create", "upsert", "update", "read", "archive"):
        status, body, _ = await call(
            http, sandbox, "POST", f"/crm/v3/objects/contacts/batch/{action}",
            {"inputs": [{"id": str(n), "properties": {}} for n in range(101)]},
        )  # fmt: skip
        assert status == 400
        assert body["category"] == "VALIDATION_ERROR"
        assert body["message"] == (
            "The maximum number of inputs supported in a batch is 100. "
            "Please reduce the number of items and try again"
        )


async def test_property_history_reads_take_at_most_50(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """A batch read with propertiesWithHistory and 51 inputs is HubSpot's 400 naming 50."""
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts/batch/read",
        {"inputs": [{"id": str(n)} for n in range(51)], "propertiesWithHistory": ["email"]},
    )  # fmt: skip
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")
    assert "property histories is 50" in body["message"]


async def test_duplicate_email_answers(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    """A duplicate email: 409 "Contact already exists. Existing ID: N" on a single create; on a
    batch without trace ids the whole batch fails with that 409 and nothing is created."""
    _, first, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "a@b.co"}}
    )
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "A@b.co"}}
    )
    assert (status, body["category"]) == (409, "CONFLICT")
    assert body["message"] == f"Contact already exists. Existing ID: {first['id']}"
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts/batch/create",
        {"inputs": [{"properties": {"email": "new@b.co"}}, {"properties": {"email": "a@b.co"}}]},
    )  # fmt: skip
    assert (status, body["message"]) == (409, f"Contact already exists. Existing ID: {first['id']}")
    assert sandbox.stats().objects["contacts"] == 1


async def test_upsert_and_update_refuse_duplicate_ids(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """HubSpot's 400 "Duplicate IDs found in batch input" when one id appears twice."""
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts/batch/upsert",
        {"inputs": [{"id": "x@y.co", "idProperty": "email", "properties": {}}] * 2},
    )  # fmt: skip
    assert status == 400
    assert body["message"] == "Duplicate IDs found in batch input: [x@y.co]. IDs must be unique"
    assert body["context"] == {"ids": ["x@y.co"]}


async def test_upsert_answers_with_the_new_flag(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """Upsert results are SimplePublicUpsertObjects with ``new``; status 200."""
    request = {
        "inputs": [{"id": "u@y.co", "idProperty": "email", "properties": {"firstname": "U"}}]
    }
    status, body, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts/batch/upsert", request
    )
    assert status == 200
    assert body["results"][0]["new"] is True
    _, body, _ = await call(http, sandbox, "POST", "/crm/v3/objects/contacts/batch/upsert", request)
    assert body["results"][0]["new"] is False


async def test_account_details_and_properties_shapes(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    """Account info has portalId (a number) and timeZone; a created property echoes
    hasUniqueValue and creating it again is a 409; a second object with the same unique value
    is HubSpot's 400."""
    status, body, _ = await call(http, sandbox, "GET", "/account-info/v3/details")
    assert status == 200
    assert body["portalId"] == 62_515_000
    assert {"timeZone", "uiDomain", "utcOffset", "companyCurrency", "dataHostingLocation"} <= set(
        body
    )
    spec = {"name": "simcrm_key", "label": "Key", "type": "string", "fieldType": "text",
            "groupName": "dealinformation", "hasUniqueValue": True}  # fmt: skip
    status, body, _ = await call(http, sandbox, "POST", "/crm/v3/properties/deals", spec)
    assert (status, body["hasUniqueValue"], body["name"]) == (201, True, "simcrm_key")
    assert (await call(http, sandbox, "POST", "/crm/v3/properties/deals", spec))[0] == 409
    deal = {"properties": {"dealname": "d", "dealstage": "qualifiedtobuy", "simcrm_key": "k1"}}
    assert (await call(http, sandbox, "POST", "/crm/v3/objects/deals", deal))[0] == 201
    status, body, _ = await call(http, sandbox, "POST", "/crm/v3/objects/deals", deal)
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")
    assert "already has that value" in body["message"]


async def test_stats_count_objects_duplicates_and_the_peak(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory, manual_clock: ManualClock
) -> None:
    """Two notes for the same simulation record and type count as one duplicate; the peak is
    the most requests seen in any 10 s window; /__sandbox/stats says the same over HTTP."""
    sandbox = await sandbox_factory(strict_properties=False)
    note = {"properties": {"hs_timestamp": "1767603600000", "simcrm_simulation_id": "7",
                           "simcrm_record_index": "3"}}  # fmt: skip
    for _ in range(2):
        await call(http, sandbox, "POST", "/crm/v3/objects/notes", note)
    for _ in range(3):
        await call(http, sandbox, "GET", "/crm/v3/objects/notes")
    manual_clock.advance(10_000)
    for _ in range(4):
        await call(http, sandbox, "GET", "/crm/v3/objects/notes")
    stats = sandbox.stats()
    assert (stats.objects["notes"], stats.duplicates["notes"], stats.duplicates_total) == (2, 1, 1)
    assert (stats.requests, stats.peak_10s) == (9, 5)
    _, over_http, _ = await call(http, sandbox, "GET", "/__sandbox/stats")
    assert over_http == stats.to_json()


async def test_stats_count_batch_calls_and_their_inputs(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """Each batch call is counted under its type and operation with the inputs it carried (so a
    client's batch fill can be read off the stats), association calls under both types; calls
    to single objects are not batches; a reset forgets the counts."""
    sandbox = await sandbox_factory(strict_properties=False)
    for size in (3, 5):
        inputs = [{"properties": {"name": f"Co {size}-{i}"}} for i in range(size)]
        status, _, _ = await call(http, sandbox, "POST", "/crm/v3/objects/companies/batch/create",
                                  {"inputs": inputs})  # fmt: skip
        assert status == 201
    status, upserted, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts/batch/upsert",
        {"inputs": [{"idProperty": "email", "id": "u@b.co", "properties": {"email": "u@b.co"}}]},
    )  # fmt: skip
    assert status == 200
    status, company, _ = await call(http, sandbox, "POST", "/crm/v3/objects/companies",
                                    {"properties": {"name": "x"}})  # fmt: skip
    assert status == 201
    link = {
        "from": {"id": upserted["results"][0]["id"]},
        "to": {"id": company["id"]},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
    }
    status, _, _ = await call(http, sandbox, "POST",
                              "/crm/v4/associations/contacts/companies/batch/create",
                              {"inputs": [link]})  # fmt: skip
    assert status in (200, 201)
    expected = {
        "associations/contacts-companies": {"calls": 1, "inputs": 1},
        "companies/create": {"calls": 2, "inputs": 8},
        "contacts/upsert": {"calls": 1, "inputs": 1},
    }
    assert sandbox.stats().batches == expected
    _, over_http, _ = await call(http, sandbox, "GET", "/__sandbox/stats")
    assert over_http["batches"] == expected
    await call(http, sandbox, "POST", "/__sandbox/reset")
    assert sandbox.stats().batches == {}


async def test_stored_objects_are_readable_over_http(
    http: aiohttp.ClientSession, sandbox: Sandbox, manual_clock: ManualClock
) -> None:
    """/__sandbox/objects/{type} lists what was stored, with associations and receipt times."""
    _, person, _ = await call(
        http, sandbox, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "r@b.co"}}
    )
    manual_clock.advance(1_234)
    await call(
        http, sandbox, "POST", "/crm/v3/objects/calls",
        {"properties": {"hs_timestamp": "2026-01-05T09:00:00Z"},
         "associations": [{"to": {"id": person["id"]}, "types": [
             {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]},
    )  # fmt: skip
    _, listed, _ = await call(http, sandbox, "GET", "/__sandbox/objects/calls")
    (call_object,) = listed["results"]
    assert call_object["receivedAtMs"] == manual_clock.now_ms()
    assert call_object["associations"] == [
        {"toType": "contacts", "toId": person["id"], "typeId": 194}
    ]
    assert call_object["properties"]["hs_timestamp"] == "2026-01-05T09:00:00.000Z"
    assert sandbox.objects(ObjectType.CALL)[0].received_at_ms == manual_clock.now_ms()


async def test_fault_injection_is_reproducible_from_the_seed(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """Two sandboxes with the same seed and error rate fail the same requests the same way;
    5xx answers keep the rate-limit headers; /__sandbox/config changes knobs at run time."""
    outcomes = []
    for _ in range(2):
        sandbox = await sandbox_factory(
            error_rate=0.5, faults=(Fault.UNAVAILABLE, Fault.LOCKED, Fault.ORIGIN_TIMEOUT), seed=11
        )
        statuses = [
            (await call(http, sandbox, "GET", "/crm/v3/objects/calls"))[0] for _ in range(30)
        ]
        outcomes.append(statuses)
    assert outcomes[0] == outcomes[1]
    assert {423, 503, 524, 200} <= set(outcomes[0])
    async with http.patch(sandbox.url + "/__sandbox/config", json={"error_rate": 0}) as answer:
        assert (await answer.json())["error_rate"] == 0
    assert (await call(http, sandbox, "GET", "/crm/v3/objects/calls"))[0] == 200
    async with http.patch(sandbox.url + "/__sandbox/config", json={"error_rate": 3}) as answer:
        assert answer.status == 400
