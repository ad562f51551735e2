"""Every status and body of research/hubspot-api.md §4.3 and §5 is classified into SPEC §4's
categories, over real HTTP, and what the limiter hears about it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from engine.crm import (
    AuthFailed,
    Conflict,
    CrmError,
    ErrorCategory,
    HubSpotTransport,
    NetworkError,
    NotFound,
    ObjectInput,
    ObjectType,
    PortalClient,
    RateLimited,
    RateLimitPolicy,
    ServerError,
    ValidationFailed,
)
from engine.crm.classify import item_error
from limits import BreakerState, Limiter, Reason
from tests.support.sandboxes import PORTAL, TOKEN
from tests.support.servers import free_port


@dataclass
class Scripted:
    """A server answering every request with ``status``, ``body`` and ``headers``."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.drop and request.transport is not None:
            request.transport.close()
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, headers=self.headers)
        return web.Response(
            status=self.status,
            body=orjson.dumps(self.body),
            headers={"Content-Type": "application/json;charset=utf-8", **self.headers},
        )


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    server = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    yield server
    await runner.cleanup()


def body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": "c0",
        "category": category,
        **extra,
    }


TEN_SECONDLY = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c93e06a4",
    "policyName": "TEN_SECONDLY_ROLLING",
    "groupName": "publicapi:hapikey-api-calls-ten-secondly:6748263",
}
DAILY = {
    "status": "error",
    "message": "You have reached your daily limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c033cdaa",
    "policyName": "DAILY",
    "requestId": "3d3e35b7",
}
SEARCH = {
    "status": "error",
    "message": "You have reached your secondly limit.",
    "correlationId": "de61843f",
    "category": "RATE_LIMITS",
}
LEGACY_SECONDLY = {**SEARCH, "errorType": "RATE_LIMIT", "policyName": "SECONDLY"}
LEGACY_SECONDLY.pop("category")

# (status, body, headers) → (error class, category, retryable, extra attributes)
CASES: list[tuple[str, int, Any, dict[str, str], type[CrmError], bool, dict[str, Any]]] = [
    ("429 ten-secondly", 429, TEN_SECONDLY, {}, RateLimited, True,
     {"policy": RateLimitPolicy.TEN_SECONDLY_ROLLING, "retry_after_ms": None}),
    ("429 daily", 429, DAILY, {}, RateLimited, True, {"policy": RateLimitPolicy.DAILY}),
    ("429 search", 429, SEARCH, {}, RateLimited, True, {"policy": RateLimitPolicy.SECONDLY}),
    ("429 legacy secondly", 429, LEGACY_SECONDLY, {}, RateLimited, True,
     {"policy": RateLimitPolicy.SECONDLY}),
    ("429 with Retry-After", 429, TEN_SECONDLY, {"Retry-After": "7"}, RateLimited, True,
     {"retry_after_ms": 7_000}),
    ("401 invalid token", 401,
     body("INVALID_AUTHENTICATION", "Authentication credentials not found."),
     {"x-hubspot-auth-failure": "401 Unauthorized"}, AuthFailed, False, {}),
    ("401 expired token", 401, body("EXPIRED_AUTHENTICATION", "The OAuth token used to make this "
     "call expired 7 second(s) ago."), {}, AuthFailed, False, {}),
    ("403 missing scopes", 403, body("MISSING_SCOPES", "This app hasn't been granted all required "
     "scopes to make this call.", errors=[{"message": "One or more of the following scopes are "
     "required.", "context": {"requiredScopes": ["contacts"]}}]), {}, AuthFailed, False, {}),
    ("400 validation", 400, body("VALIDATION_ERROR", 'Property values were not valid: [{"isValid":'
     'false,"error":"PROPERTY_DOESNT_EXIST","name":"x"}]'), {}, ValidationFailed, False, {}),
    ("400 too many inputs", 400, body("VALIDATION_ERROR", "The maximum number of inputs supported "
     "in a batch is 100. Please reduce the number of items and try again"), {},
     ValidationFailed, False, {}),
    ("409 duplicate email", 409,
     body("CONFLICT", "Contact already exists. Existing ID: 37765128953"),
     {}, Conflict, False, {"existing_id": "37765128953"}),
    ("404 not found", 404, body("OBJECT_NOT_FOUND", "resource not found"), {}, NotFound, False, {}),
    ("414 too long", 414, "URI Too Long", {}, ValidationFailed, False, {}),
    ("423 locked", 423, body("LOCKED", "locked"), {}, ServerError, True, {"retry_after_ms": 2_000}),
    ("477 migration", 477, body("MIGRATION_IN_PROGRESS", "migrating"), {"Retry-After": "60"},
     ServerError, True, {"retry_after_ms": 60_000}),
    ("500", 500, body("INTERNAL_ERROR", "internal error"), {}, ServerError, True, {}),
    ("502 from the edge", 502, "<html>Bad Gateway</html>", {}, ServerError, True, {}),
    ("503", 503, "error code: 503", {}, ServerError, True, {}),
    ("504", 504, "error code: 504", {}, ServerError, True, {}),
    ("521", 521, "error code: 521", {}, ServerError, True, {}),
    ("523", 523, "error code: 523", {}, ServerError, True, {}),
    ("524 origin timeout", 524, "error code: 524", {}, ServerError, True, {}),
    ("522 hopeless", 522, "error code: 522", {}, ServerError, False, {}),
    ("525 hopeless", 525, "error code: 525", {}, ServerError, False, {}),
    ("526 hopeless", 526, "error code: 526", {}, ServerError, False, {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "answer", "headers", "error_type", "retryable", "attributes"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_each_hubspot_answer_is_classified(
    scripted: Scripted,
    transport_factory: Callable[..., Awaitable[HubSpotTransport]],
    status: int,
    answer: Any,
    headers: dict[str, str],
    error_type: type[CrmError],
    retryable: bool,
    attributes: dict[str, Any],
) -> None:
    """The status and body HubSpot sends become the matching error class, category and
    retryable flag (and policy, Retry-After or existing id where they apply)."""
    scripted.status, scripted.body, scripted.headers = status, answer, headers
    transport = await transport_factory(scripted.url)
    with pytest.raises(CrmError) as caught:
        await PortalClient(transport, PORTAL, TOKEN).create(
            ObjectType.DEAL, ObjectInput({"dealname": "x"})
        )
    error = caught.value
    assert type(error) is error_type
    assert error.category is error_type.category
    assert (error.status, error.retryable) == (status, retryable)
    for name, value in attributes.items():
        assert getattr(error, name) == value


async def test_a_conflict_naming_a_contact_is_success_for_contacts(
    scripted: Scripted, transport_factory: Callable[..., Awaitable[HubSpotTransport]]
) -> None:
    """A single contact create answered 409 "Existing ID: N" settles as success with id N."""
    scripted.status = 409
    scripted.body = body("CONFLICT", "Contact already exists. Existing ID: 37765128953")
    transport = await transport_factory(scripted.url)
    result = await PortalClient(transport, PORTAL, TOKEN).create(
        ObjectType.CONTACT, ObjectInput({"email": "a@b.co"})
    )
    assert (result.ok, result.id, result.new) == (True, "37765128953", False)


async def test_network_failures_say_whether_the_request_may_have_landed(
    scripted: Scripted, transport_factory: Callable[..., Awaitable[HubSpotTransport]]
) -> None:
    """A dropped connection and a timeout are ``network`` errors that may have been applied; a
    refused connection is one that surely was not."""
    scripted.drop = True
    transport = await transport_factory(scripted.url, timeout_ms=300)
    portal = PortalClient(transport, PORTAL, TOKEN)
    with pytest.raises(NetworkError) as dropped:
        await portal.archive(ObjectType.NOTE, "1")
    assert (dropped.value.category, dropped.value.maybe_applied) == (ErrorCategory.NETWORK, True)
    scripted.drop, scripted.delay_s = False, 2.0
    with pytest.raises(NetworkError) as slow:
        await portal.archive(ObjectType.NOTE, "1")
    assert slow.value.maybe_applied
    assert "timeout" in str(slow.value)
    closed = await transport_factory(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NetworkError) as refused:
        await PortalClient(closed, PORTAL, TOKEN).archive(ObjectType.NOTE, "1")
    assert not refused.value.maybe_applied
    assert refused.value.retryable


async def test_the_limiter_hears_429s_and_failures_but_not_4xx(
    scripted: Scripted,
    transport_factory: Callable[..., Awaitable[HubSpotTransport]],
    limiter: Limiter,
) -> None:
    """A 400 changes nothing in the limiter; a 503 enters the breaker's failure window; a
    ten-secondly 429 with Retry-After sets the cooldown to it."""
    transport = await transport_factory(scripted.url, limiter=limiter)
    portal = PortalClient(transport, PORTAL, TOKEN)
    for status, answer, headers in (
        (400, body("VALIDATION_ERROR", "bad"), {}),
        (503, "error code: 503", {}),
        (429, TEN_SECONDLY, {"Retry-After": "3"}),
    ):
        scripted.status, scripted.body, scripted.headers = status, answer, headers
        with pytest.raises(CrmError):
            await portal.archive(ObjectType.TASK, "9")
    state = await limiter.state(PORTAL)
    assert state.recent_failures == 1
    assert state.breaker is BreakerState.CLOSED
    assert state.cooldown_reason is Reason.COOLDOWN
    assert state.cooldown_until_ms == state.at_ms + 3_000


@pytest.mark.parametrize(
    ("raw", "category", "retryable", "existing"),
    [
        ({"status": "error", "category": "CONFLICT", "message": "Contact already exists. "
          "Existing ID: 5"}, ErrorCategory.CONFLICT, False, "5"),
        ({"status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not "
          "valid"}, ErrorCategory.VALIDATION, False, None),
        ({"status": "error", "category": "VALIDATION_ERROR", "message": 'Property values were not '
          'valid: [{"message":"k1 already has that value for simcrm_key"}]'},
         ErrorCategory.CONFLICT, False, None),
        ({"status": "error", "category": "OBJECT_NOT_FOUND",
          "message": "Could not get some CONTACT objects"}, ErrorCategory.NOT_FOUND, False, None),
        ({"status": "500", "message": "boom"}, ErrorCategory.SERVER, True, None),
        ({"message": "?"}, ErrorCategory.UNKNOWN, False, None),
    ],
)  # fmt: skip
def test_multi_status_items_are_classified(
    raw: dict[str, Any], category: ErrorCategory, retryable: bool, existing: str | None
) -> None:
    """Each error entry of a 207 gets a category, a retryable flag and any existing id; a
    duplicate value of a unique property counts as a conflict."""
    error = item_error(raw)
    assert (error.category, error.retryable, error.existing_id) == (category, retryable, existing)
