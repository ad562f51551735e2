"""Simulations through the API: create, validation naming the field, visibility, lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import BODY, Api, error_of


async def test_create_returns_the_stored_draft(api: Api) -> None:
    """A valid body creates a draft owned by the caller, seeded with its id, with a Location."""
    response = await api.client.post("/api/simulations", json=BODY, headers=api.auth("member"))
    body = await response.json()
    assert response.status == 201, body
    assert response.headers["Location"] == f"/api/simulations/{body['id']}"
    assert body["status"] == "draft"
    assert body["seed"] == body["id"]
    assert body["total_records"] == 200 and body["target"] == "sandbox"
    assert body["start_time"] == "2026-01-05T00:00:00Z"
    got = await (
        await api.client.get(f"/api/simulations/{body['id']}", headers=api.auth("member"))
    ).json()
    assert got == body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_records": 0}, "total_records"),
        ({"total_records": 10_000_001}, "total_records"),
        ({"scenario": "nope"}, "scenario"),
        ({"distribution_method": "zigzag"}, "distribution_method"),
        ({"end_time": "2026-01-04T00:00:00Z"}, "end_time"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"time_scale": 0.5}, "time_scale"),
        ({"target": "salesforce"}, "target"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"seed": -1}, "seed"),
        ({"colour": "red"}, "colour"),
        ({"distribution_params": {"sigma": "wide"}}, "distribution_params.sigma"),
        (
            {"scenario_overrides": {"activities": {"note": {"cap": "x"}}}},
            "scenario_overrides.activities.note.cap",
        ),
    ],
)
async def test_each_bad_field_is_named(api: Api, change: dict[str, Any], field: str) -> None:
    """A body with one bad field is a 422 whose details and message name exactly that field."""
    status, body = await api.call("member", "POST", "/api/simulations", {**BODY, **change})
    error = error_of(body)
    assert status == 422, body
    assert error["code"] == "validation_error"
    assert [detail["field"] for detail in error["details"]] == [field]
    assert error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("path", ["/api/simulations", "/api/simulations/preview"])
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"distribution_method": "stages", "distribution_params": {"points": [[0, 0], [1, 0]]}},
            "distribution_params.points",
        ),
        (
            {
                "distribution_method": "ramp_up",
                "distribution_params": {"start_rate": 1e308, "end_rate": 1e308},
            },
            "distribution_params.start_rate",
        ),
        ({"total_records": "100"}, "total_records"),
        ({"total_records": True}, "total_records"),
    ],
)
async def test_degenerate_rates_and_loose_types_are_named(
    api: Api, path: str, change: dict[str, Any], field: str
) -> None:
    """All-zero stage rates, rates too large to add up, and a record count that is a string or a
    boolean are 422s naming the field, on create and on preview alike (never a 500)."""
    status, body = await api.call("member", "POST", path, {**BODY, **change})
    error = error_of(body)
    assert status == 422, body
    assert [detail["field"] for detail in error["details"]] == [field]


async def test_a_missing_required_field_is_named(api: Api) -> None:
    """Leaving out total_records is a 422 naming it."""
    body = {k: v for k, v in BODY.items() if k != "total_records"}
    status, answer = await api.call("member", "POST", "/api/simulations", body)
    assert status == 422
    assert error_of(answer)["details"][0]["field"] == "total_records"


async def test_a_calendar_leaving_no_arrivals_is_refused(api: Api) -> None:
    """A whole-definition problem (a business-hours calendar over a weekend-only window) is a 422
    naming the field at fault, and nothing is stored."""
    weekend = {**BODY, "start_time": "2026-01-10T00:00:00Z", "end_time": "2026-01-11T00:00:00Z"}
    body = {**weekend, "calendar": {"preset": "none", "weekdays": [1, 1, 1, 1, 1, 0, 0]}}
    status, answer = await api.call("member", "POST", "/api/simulations", body)
    assert status == 422, answer
    assert error_of(answer)["details"][0]["field"] == "calendar"
    listed = await api.call("member", "GET", "/api/simulations")
    assert listed[1]["simulations"] == []


async def test_members_see_only_their_own(api: Api) -> None:
    """Another member's simulation is a 404 (read, act, metrics) and absent from the list; the
    boss sees and lists everyone's."""
    mine = await api.create("member")
    theirs = await api.create("other")
    status, listed = await api.call("member", "GET", "/api/simulations")
    assert [sim["id"] for sim in listed["simulations"]] == [mine["id"]]
    for method, suffix in (
        ("GET", ""),
        ("GET", "/metrics"),
        ("GET", "/segments"),
        ("GET", "/plan"),
        ("POST", "/start"),
    ):
        status, body = await api.call("member", method, f"/api/simulations/{theirs['id']}{suffix}")
        assert status == 404, (suffix, body)
        assert error_of(body)["code"] == "not_found"
    status, missing = await api.call("member", "GET", "/api/simulations/999999")
    assert status == 404
    assert error_of(missing)["message"] == "simulation 999999 does not exist"
    status, everyone = await api.call("boss", "GET", "/api/simulations")
    assert {sim["id"] for sim in everyone["simulations"]} == {mine["id"], theirs["id"]}
    assert (await api.call("boss", "GET", f"/api/simulations/{theirs['id']}"))[0] == 200


async def test_list_pages_and_filters(api: Api) -> None:
    """The list is newest first, pages with `before`, and filters by status."""
    ids = [(await api.create("member"))["id"] for _ in range(3)]
    await api.call("member", "POST", f"/api/simulations/{ids[0]}/start")
    status, page = await api.call("member", "GET", "/api/simulations?limit=2")
    assert [sim["id"] for sim in page["simulations"]] == [ids[2], ids[1]]
    assert page["next_before"] == ids[1]
    _, rest = await api.call("member", "GET", f"/api/simulations?limit=2&before={ids[1]}")
    assert [sim["id"] for sim in rest["simulations"]] == [ids[0]]
    assert rest["next_before"] is None
    _, running = await api.call("member", "GET", "/api/simulations?status=running")
    assert [sim["id"] for sim in running["simulations"]] == [ids[0]]
    status, bad = await api.call("member", "GET", "/api/simulations?limit=0")
    assert status == 422 and error_of(bad)["details"][0]["field"] == "limit"
    status, bad = await api.call("member", "GET", "/api/simulations?status=sleeping")
    assert status == 422 and error_of(bad)["details"][0]["field"] == "status"


async def test_lifecycle_moves_and_conflicts(api: Api) -> None:
    """start → pause → resume → cancel each move the status; an action its status does not allow
    is a 409 naming the current status, and changes nothing."""
    sim = await api.create("member")
    path = f"/api/simulations/{sim['id']}"
    for action, status in (("pause", "draft"), ("resume", "draft")):
        code, body = await api.call("member", "POST", f"{path}/{action}")
        assert code == 409, body
        assert error_of(body)["details"] == {"status": status, "action": action}
    for action, expected in (
        ("start", "running"),
        ("pause", "paused"),
        ("resume", "running"),
        ("cancel", "cancelled"),
    ):
        code, body = await api.call("member", "POST", f"{path}/{action}")
        assert (code, body["status"]) == (200, expected)
    for action in ("start", "pause", "resume", "cancel"):
        code, body = await api.call("member", "POST", f"{path}/{action}")
        assert code == 409
        assert error_of(body)["code"] == "conflict"
        assert "cancelled" in error_of(body)["message"]
    _, final = await api.call("member", "GET", path)
    assert final["status"] == "cancelled" and final["finished_at"] is not None


async def test_hubspot_target_needs_a_token_to_start(api: Api) -> None:
    """A `hubspot` simulation whose owner stored no token cannot start (409), and stays a draft."""
    sim = await api.create("member", target="hubspot")
    status, body = await api.call("member", "POST", f"/api/simulations/{sim['id']}/start")
    assert status == 409
    assert "hubspot-token" in error_of(body)["message"]
    _, again = await api.call("member", "GET", f"/api/simulations/{sim['id']}")
    assert again["status"] == "draft"


async def test_me_and_catalog(api: Api) -> None:
    """/api/me names the caller and role; /api/catalog lists the server's choices."""
    _, me = await api.call("boss", "GET", "/api/me")
    assert me["email"] == "boss@example.com" and me["role"] == "boss"
    _, catalog = await api.call("member", "GET", "/api/catalog")
    assert "b2b_saas" in catalog["scenarios"] and "bell" in catalog["distributions"]
    assert "stalled" in catalog["categories"]
    assert (await api.client.get("/api/me")).status == 401
