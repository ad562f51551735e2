"""The sandbox's aiohttp application: HubSpot's endpoints behind HubSpot's gatekeeping.

Every API request (anything outside ``/__sandbox``) passes, in order: authentication (401 with
HubSpot's body and ``x-hubspot-auth-failure``), scopes (403 MISSING_SCOPES for denied types),
rate limits (429 with the TEN_SECONDLY_ROLLING, DAILY or search body, rate-limit headers and an
optional Retry-After), the configured latency, then fault injection (a 423/5xx answer, or a
dropped connection before or after the request is applied), and finally the endpoint. The token
chooses the portal (see :mod:`sandbox.portal`). A write the endpoint committed may then lose its
answer to the adversarial modes: a gateway 5xx/524, or a connection held and closed.

``/__sandbox`` serves the inspection endpoints: ``GET stats``, ``GET objects/{type}``,
``POST reset``, ``GET|PATCH config``; ``?portal=ID`` picks one portal.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox import bodies, routes_batch, routes_misc, routes_objects, routes_properties
from sandbox.adversary import AfterWrite
from sandbox.config import ADVERSARIAL_FIELDS, Fault, SandboxConfig
from sandbox.hubspot import ObjectType
from sandbox.portal import Portal
from sandbox.render import PORTAL, STATE, read_json, twin
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
    "time_zone", "portals", "lifecycle_backwards", *ADVERSARIAL_FIELDS,
)  # fmt: skip
_PORTAL_TUNABLE = ("tier", "daily_limit", "time_zone")
MAX_BODY_BYTES = 16 * 1024 * 1024


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _denied(config: SandboxConfig, path: str) -> ObjectType | None:
    match = _OBJECT_PATH.match(path)
    if not match or not config.denied_types:
        return None
    try:
        kind = ObjectType.from_path(match.group(1))
    except ValueError:
        return None
    return kind if kind in config.denied_types else None


def _edge_error(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """5xx and 524 come from the edge proxy, as text rather than HubSpot's JSON."""
    return web.Response(status=status, text=f"error code: {status}", headers=headers)


def _fault_response(fault: Fault, headers: dict[str, str]) -> web.Response:
    if fault is Fault.LOCKED:
        body = bodies.error(
            "The record is locked by a large-volume sync; wait at least 2 seconds", "LOCKED"
        )
        return bodies.json_response(body, 423, headers)
    return _edge_error(fault.status or 502, headers)


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


def _is_write(request: web.Request) -> bool:
    """Whether a request changes the CRM (searches and batch reads are POSTs that do not)."""
    path = request.path
    return request.method in ("POST", "PATCH", "PUT", "DELETE") and not (
        path.endswith(("/search", "/batch/read"))
    )


def _gate(request: web.Request, sandbox: SandboxState) -> web.Response | tuple[Portal, Verdict]:
    """Authentication, rate limits and scopes: a refusal, or the portal and the verdict."""
    config = sandbox.config
    token = _bearer(request)
    portal = None if config.auth_failure or token is None else sandbox.portal_for(token)
    if token is None or portal is None:
        sandbox.default.requests += 1  # counted where a single-portal sandbox counts it
        sandbox.default.statuses[401] += 1
        return bodies.json_response(
            bodies.unauthorized(), 401, {"x-hubspot-auth-failure": "401 Unauthorized"}
        )
    portal.requests += 1
    now = portal.now()
    if request.method == "POST" and request.path.endswith("/search"):
        verdict = portal.throttle.admit_search(now, portal.config)
    else:
        verdict = portal.throttle.admit(token, now, portal.config)
    if not verdict.allowed:
        portal.statuses[429] += 1
        return bodies.json_response(verdict.body, 429, verdict.headers)
    if (denied := _denied(config, request.path)) is not None:
        scope = _SCOPES.get(denied, "crm.objects.contacts.write")
        portal.statuses[403] += 1
        return bodies.json_response(bodies.missing_scopes([scope]), 403, verdict.headers)
    return portal, verdict


async def _answer(request: web.Request, handler: Handler, portal: Portal) -> web.StreamResponse:
    """The endpoint's answer, with HubSpot's error bodies for refusals."""
    try:
        return await handler(request)
    except Rejected as refusal:
        if refusal.category == "CONFLICT":
            portal.conflicts += 1
        return bodies.json_response(refusal.body(), refusal.status)
    except web.HTTPRequestEntityTooLarge:
        message = f"The request body is larger than the {MAX_BODY_BYTES} bytes allowed"
        return bodies.json_response(bodies.error(message, "VALIDATION_ERROR"), 413)
    except web.HTTPException as exc:
        return bodies.json_response(
            bodies.error(exc.reason or "Not found", "OBJECT_NOT_FOUND"), exc.status
        )


async def _lose_answer(
    request: web.Request, portal: Portal, after: AfterWrite, headers: dict[str, str]
) -> web.Response:
    """A committed write whose answer is a gateway error, or never comes."""
    config = portal.config
    if after is AfterWrite.ERROR:
        status = portal.adversary.applied_status(config)
        portal.faults[f"applied-{status}"] += 1
        portal.statuses[status] += 1
        return _edge_error(status, headers)
    portal.faults[str(after)] += 1
    await asyncio.sleep(config.applied_timeout_ms / 1000)
    return _drop(request)


@web.middleware
async def imitate_hubspot(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/__sandbox/"):
        return await handler(request)
    sandbox = twin(request)
    gate = _gate(request, sandbox)
    if isinstance(gate, web.Response):
        return gate
    portal, verdict = gate
    request[PORTAL] = portal
    if (delay := sandbox.latency_s()) > 0:
        await asyncio.sleep(delay)
    fault = sandbox.draw_fault()
    if fault is not None:
        portal.faults[str(fault)] += 1
    if fault is Fault.DROP:
        return _drop(request)
    if fault is not None and fault is not Fault.LOST:
        portal.statuses[fault.status or 0] += 1
        return _fault_response(fault, verdict.headers)
    response = await _answer(request, handler, portal)
    if fault is Fault.LOST:
        return _drop(request)
    if _is_write(request) and 200 <= response.status < 300:
        after = portal.adversary.after_write(portal.config)
        if after is not None:
            return await _lose_answer(request, portal, after, verdict.headers)
    response.headers.update(verdict.headers)
    portal.statuses[response.status] += 1
    return response


admin = web.RouteTableDef()


def _chosen(request: web.Request) -> Portal | None:
    """The portal ``?portal=ID`` names (the default portal without it)."""
    sandbox = twin(request)
    raw = request.query.get("portal")
    if raw is None:
        return sandbox.default
    try:
        return sandbox.find(int(raw))
    except ValueError:
        return None


def _no_portal(request: web.Request) -> web.Response:
    message = f"no portal has id {request.query.get('portal')!r}"
    return bodies.json_response(bodies.error(message, "OBJECT_NOT_FOUND"), 404)


@admin.get("/__sandbox/stats")
async def stats(request: web.Request) -> web.Response:
    sandbox = twin(request)
    if "portal" not in request.query:
        return bodies.json_response(sandbox.stats().to_json())
    portal = _chosen(request)
    if portal is None:
        return _no_portal(request)
    return bodies.json_response(portal.stats().to_json())


@admin.get("/__sandbox/objects/{type}")
async def objects(request: web.Request) -> web.Response:
    try:
        kind = ObjectType.from_path(request.match_info["type"])
    except ValueError:
        return bodies.json_response(bodies.error("unknown object type", "VALIDATION_ERROR"), 400)
    portal = _chosen(request)
    if portal is None:
        return _no_portal(request)
    snapshot = portal.store.snapshot(kind)
    return bodies.json_response({"results": [obj.to_json() for obj in snapshot]})


@admin.post("/__sandbox/reset")
async def reset(request: web.Request) -> web.Response:
    twin(request).reset()
    return web.Response(status=204)


@admin.get("/__sandbox/config")
async def read_config(request: web.Request) -> web.Response:
    return bodies.json_response(twin(request).config.to_json())


def _bad_config(message: str) -> web.Response:
    return bodies.json_response(bodies.error(message, "VALIDATION_ERROR"), 400)


@admin.patch("/__sandbox/config")
async def change_config(request: web.Request) -> web.Response:
    """Change sandbox-wide knobs; with ``?portal=ID``, one declared portal's tier, daily limit
    or time zone. ``"adversarial": true`` turns every adversarial mode on."""
    sandbox = twin(request)
    try:
        changes: Any = await read_json(request)
    except Rejected as refusal:
        return bodies.json_response(refusal.body(), 400)
    per_portal = "portal" in request.query
    allowed = _PORTAL_TUNABLE if per_portal else (*_TUNABLE, "adversarial")
    if not isinstance(changes, dict) or any(k not in allowed for k in changes):
        return _bad_config(f"the body must be an object with some of: {', '.join(allowed)}")
    try:
        if per_portal:
            settings = sandbox.reconfigure_portal(int(request.query["portal"]), **changes)
            return bodies.json_response(settings.to_json())
        for name in ("faults", "applied_errors", "portals"):
            if name in changes:
                changes[name] = tuple(changes[name])
        if changes.pop("adversarial", False):  # every mode on; what the body sets wins
            changes = {**_adversarial_changes(sandbox.config), **changes}
        config = sandbox.reconfigure(**changes)
    except (TypeError, ValueError) as exc:
        return _bad_config(str(exc))
    return bodies.json_response(config.to_json())


def _adversarial_changes(config: SandboxConfig) -> dict[str, Any]:
    on = config.adversarial()
    return {name: getattr(on, name) for name in ADVERSARIAL_FIELDS}


def create_app(sandbox: SandboxState) -> web.Application:
    """The sandbox application serving ``sandbox``'s state."""
    app = web.Application(middlewares=[imitate_hubspot], client_max_size=MAX_BODY_BYTES)
    app[STATE] = sandbox
    app.add_routes(admin)
    app.add_routes(routes_batch.routes)
    app.add_routes(routes_misc.routes)
    app.add_routes(routes_properties.routes)
    app.add_routes(routes_objects.routes)
    return app
