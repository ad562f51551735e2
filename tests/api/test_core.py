"""The API's shared machinery: authentication, JSON errors, validation, OpenAPI, health."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, Field

from api.app import create_app
from api.errors import Conflict
from api.routes import health
from api.routing import Call, Reply, Routes
from engine.settings import Settings
from schema.store import Store
from schema.users import Role

Client = TestClient[web.Request, web.Application]
probe = Routes("probe")


class Echo(BaseModel):
    name: str = Field(min_length=1)
    count: int = Field(ge=1, le=10)


class EchoOut(BaseModel):
    name: str
    count: int
    caller: str


@probe.route("POST", "/api/probe/echo", summary="echo", body=Echo, responses={201: EchoOut})
async def echo(call: Call) -> Reply:
    body = call.body_as(Echo)
    return Reply(201, EchoOut(name=body.name, count=body.count, caller=call.caller.email))


@probe.route("GET", "/api/probe/boss", summary="boss only", auth="boss", responses={204: None})
async def boss_only(call: Call) -> Reply:
    return Reply(204)


@probe.route("GET", "/api/probe/conflict", summary="conflict", responses={200: EchoOut})
async def conflict(call: Call) -> Reply:
    raise Conflict("already running", {"status": "running"})


@probe.route("GET", "/api/probe/crash", summary="crash", responses={200: EchoOut})
async def crash(call: Call) -> Reply:
    raise RuntimeError("secret internals")


@pytest.fixture
async def api(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    tmp_path: Any,
    redis_url: str,
) -> tuple[Client, dict[str, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path}/api.db"
    async with Store.open(url, require_schema=False) as store:
        await store.migrate()
        _, member = await store.users.create("member@example.com")
        _, boss = await store.users.create("boss@example.com", Role.BOSS)
    app = create_app(
        Settings(), redis_url=redis_url, database_url=url, route_tables=(health.routes, probe)
    )
    client = await aiohttp_client(app)
    return client, {"member": member, "boss": boss}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


async def test_missing_and_bad_keys_are_401(api: tuple[Client, dict[str, str]]) -> None:
    """No key, a malformed header and an unknown key are all 401 with a JSON error."""
    client, _ = api
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("sk_simcrm_nope")):
        response = await client.post(
            "/api/probe/echo", json={"name": "a", "count": 1}, headers=headers
        )
        error = await error_of(response, 401)
        assert error["code"] == "unauthorized"


async def test_valid_key_reaches_the_handler(api: tuple[Client, dict[str, str]]) -> None:
    """A valid key authenticates; the handler sees its user and the validated body."""
    client, keys = api
    response = await client.post(
        "/api/probe/echo", json={"name": "a", "count": 3}, headers=bearer(keys["member"])
    )
    assert response.status == 201
    assert await response.json() == {"name": "a", "count": 3, "caller": "member@example.com"}


async def test_members_are_forbidden_boss_routes(api: tuple[Client, dict[str, str]]) -> None:
    """A member calling a boss endpoint gets 403; a boss gets through."""
    client, keys = api
    error = await error_of(await client.get("/api/probe/boss", headers=bearer(keys["member"])), 403)
    assert error["code"] == "forbidden"
    assert (await client.get("/api/probe/boss", headers=bearer(keys["boss"]))).status == 204


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "", "count": 1}, "name"),
        ({"name": "a", "count": 11}, "count"),
        ({"name": "a"}, "count"),
    ],
)
async def test_bad_fields_are_named(
    api: tuple[Client, dict[str, str]], payload: dict[str, Any], field: str
) -> None:
    """A body with a bad field is 422 and the details name that field."""
    client, keys = api
    response = await client.post("/api/probe/echo", json=payload, headers=bearer(keys["member"]))
    error = await error_of(response, 422)
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]
    assert error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]"])
async def test_non_object_bodies_are_400(api: tuple[Client, dict[str, str]], raw: bytes) -> None:
    """Empty, malformed or non-object bodies are 400, not 500."""
    client, keys = api
    response = await client.post("/api/probe/echo", data=raw, headers=bearer(keys["member"]))
    assert (await error_of(response, 400))["code"] == "bad_request"


async def test_oversized_body_is_413(api: tuple[Client, dict[str, str]]) -> None:
    """A body over the size limit is refused with 413 before it is parsed."""
    client, keys = api
    response = await client.post(
        "/api/probe/echo", data=b"x" * 300_000, headers=bearer(keys["member"])
    )
    assert (await error_of(response, 413))["code"] == "payload_too_large"


async def test_errors_carry_code_and_details_but_no_traceback(
    api: tuple[Client, dict[str, str]],
) -> None:
    """Domain errors keep their details; unexpected ones are a bare 500 with nothing inside."""
    client, keys = api
    error = await error_of(
        await client.get("/api/probe/conflict", headers=bearer(keys["member"])), 409
    )
    assert error == {
        "code": "conflict",
        "message": "already running",
        "details": {"status": "running"},
    }
    response = await client.get("/api/probe/crash", headers=bearer(keys["member"]))
    text = await response.text()
    assert response.status == 500
    assert "secret internals" not in text and "Traceback" not in text


async def test_unknown_paths_and_methods(api: tuple[Client, dict[str, str]]) -> None:
    """Unknown endpoints are JSON 404s; a wrong method is a JSON 405."""
    client, keys = api
    assert (await error_of(await client.get("/api/nope"), 404))["code"] == "not_found"
    response = await client.delete("/api/probe/echo", headers=bearer(keys["member"]))
    assert (await error_of(response, 405))["code"] == "method_not_allowed"


async def test_health_reports_redis_and_database(api: tuple[Client, dict[str, str]]) -> None:
    """With both up, health is 200 and says so, without authentication."""
    client, _ = api
    response = await client.get("/api/health")
    body = await response.json()
    assert response.status == 200
    assert body["status"] == "ok"
    assert body["redis"]["ok"] and body["database"]["ok"]


async def test_openapi_lists_every_route(api: tuple[Client, dict[str, str]]) -> None:
    """The served OpenAPI 3.1 document has every declared route with its error responses."""
    client, _ = api
    document = await (await client.get("/api/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    echo_op = document["paths"]["/api/probe/echo"]["post"]
    assert set(echo_op["responses"]) == {"201", "400", "401", "413", "422"}
    assert echo_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Echo")
    assert set(document["paths"]["/api/probe/boss"]["get"]["responses"]) == {"204", "401", "403"}
    assert "security" not in document["paths"]["/api/health"]["get"]
