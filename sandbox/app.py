"""The sandbox's aiohttp application: HubSpot's endpoints behind HubSpot's gatekeeping.

Every API request (anything outside ``/__sandbox``) passes, in order: authentication (401 with
HubSpot's body and ``x-hubspot-auth-failure``), scopes (403 MISSING_SCOPES for denied types),
rate limits (429 with the TEN_SECONDLY_ROLLING, DAILY or search body, rate-limit headers and an
optional Retry-After), the configured latency, then fault injection (a 423/5xx answer, or a
dropped connection before or after the request is applied), and finally the endpoint.

``/__sandbox`` serves the inspection endpoints: ``GET stats``, ``GET objects/{type}``,
``POST reset``, ``GET|PATCH config``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox import bodies, routes_batch, routes_misc, routes_objects
from sandbox.config import Fault
from sandbox.hubspot import ObjectType
from sandbox.render import STATE, read_json, state
from sandbox.state import SandboxState
from sandbox.store import Rejected
from sandbox.throttle import Verdict

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_OBJECT_PATH = re.compile(r"^/crm/v3/(?:objects|properties)/([^/]+)")
_SCOPES = {
    ObjectType.TICKET: "tickets",
    ObjectType.COMPANY: "crm.objects.companies.write",
    ObjectType.DEAL: "crm.objects.deals.write",
}
_TUNABLE = (
    "tier", "daily_limit", "search_per_second", "latency_ms", "latency_jitter_ms", "error_rate",
    "faults", "retry_after_s", "seed", "search_lag_ms", "strict_properties", "auth_failure",
)  # fmt: skip


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _denied(sandbox: SandboxState, path: str) -> ObjectType | None:
    match = _OBJECT_PATH.match(path)
    if not match or not sandbox.config.denied_types:
        return None
    try:
        kind = ObjectType.from_path(match.group(1))
    except ValueError:
        return None
    return kind if kind in sandbox.config.denied_types else None


def _fault_response(fault: Fault, headers: dict[str, str]) -> web.Response:
    if fault is Fault.LOCKED:
        body = bodies.error(
            "The record is locked by a large-volume sync; wait at least 2 seconds", "LOCKED"
        )
        return bodies.json_response(body, 423, headers)
    # 5xx and 524 come from the edge proxy, as HTML-ish text rather than HubSpot's JSON.
    return web.Response(
        status=fault.status or 502, text=f"error code: {fault.value}", headers=headers
    )


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


def _gate(request: web.Request, sandbox: SandboxState) -> web.Response | Verdict:
    """Authentication, rate limits and scopes: a refusal, or the verdict to answer with."""
    config = sandbox.config
    token = _bearer(request)
    if config.auth_failure or token is None or (config.tokens and token not in config.tokens):
        return bodies.json_response(
            bodies.unauthorized(), 401, {"x-hubspot-auth-failure": "401 Unauthorized"}
        )
    now = sandbox.now()
    if request.method == "POST" and request.path.endswith("/search"):
        verdict = sandbox.throttle.admit_search(now, config)
    else:
        verdict = sandbox.throttle.admit(token, now, config)
    if not verdict.allowed:
        return bodies.json_response(verdict.body, 429, verdict.headers)
    if (denied := _denied(sandbox, request.path)) is not None:
        scope = _SCOPES.get(denied, "crm.objects.contacts.write")
        return bodies.json_response(bodies.missing_scopes([scope]), 403, verdict.headers)
    return verdict


@web.middleware
async def imitate_hubspot(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/__sandbox/"):
        return await handler(request)
    sandbox = state(request)
    sandbox.requests += 1
    verdict = _gate(request, sandbox)
    if isinstance(verdict, web.Response):
        sandbox.statuses[verdict.status] += 1
        return verdict
    if (delay := sandbox.latency_s()) > 0:
        await asyncio.sleep(delay)
    fault = sandbox.draw_fault()
    if fault is Fault.DROP:
        return _drop(request)
    if fault is not None and fault is not Fault.LOST:
        sandbox.statuses[fault.status or 0] += 1
        return _fault_response(fault, verdict.headers)
    try:
        response = await handler(request)
    except Rejected as refusal:
        if refusal.category == "CONFLICT":
            sandbox.conflicts += 1
        response = bodies.json_response(refusal.body(), refusal.status)
    except web.HTTPException as exc:
        response = bodies.json_response(
            bodies.error(exc.reason or "Not found", "OBJECT_NOT_FOUND"), exc.status
        )
    if fault is Fault.LOST:
        return _drop(request)
    response.headers.update(verdict.headers)
    sandbox.statuses[response.status] += 1
    return response


admin = web.RouteTableDef()


@admin.get("/__sandbox/stats")
async def stats(request: web.Request) -> web.Response:
    return bodies.json_response(state(request).stats().to_json())


@admin.get("/__sandbox/objects/{type}")
async def objects(request: web.Request) -> web.Response:
    try:
        kind = ObjectType.from_path(request.match_info["type"])
    except ValueError:
        return bodies.json_response(bodies.error("unknown object type", "VALIDATION_ERROR"), 400)
    snapshot = state(request).store.snapshot(kind)
    return bodies.json_response({"results": [obj.to_json() for obj in snapshot]})


@admin.post("/__sandbox/reset")
async def reset(request: web.Request) -> web.Response:
    state(request).reset()
    return web.Response(status=204)


@admin.get("/__sandbox/config")
async def read_config(request: web.Request) -> web.Response:
    return bodies.json_response(state(request).config.to_json())


@admin.patch("/__sandbox/config")
async def change_config(request: web.Request) -> web.Response:
    sandbox = state(request)
    try:
        changes: Any = await read_json(request)
    except Rejected as refusal:
        return bodies.json_response(refusal.body(), 400)
    if not isinstance(changes, dict) or any(k not in _TUNABLE for k in changes):
        message = f"the body must be an object with some of: {', '.join(_TUNABLE)}"
        return bodies.json_response(bodies.error(message, "VALIDATION_ERROR"), 400)
    if "faults" in changes:
        changes["faults"] = tuple(changes["faults"])
    try:
        config = sandbox.reconfigure(**changes)
    except (TypeError, ValueError) as exc:
        return bodies.json_response(bodies.error(str(exc), "VALIDATION_ERROR"), 400)
    return bodies.json_response(config.to_json())


def create_app(sandbox: SandboxState) -> web.Application:
    """The sandbox application serving ``sandbox``'s state."""
    app = web.Application(middlewares=[imitate_hubspot], client_max_size=16 * 1024 * 1024)
    app[STATE] = sandbox
    app.add_routes(admin)
    app.add_routes(routes_batch.routes)
    app.add_routes(routes_misc.routes)
    app.add_routes(routes_objects.routes)
    return app
