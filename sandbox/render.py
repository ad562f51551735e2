"""Objects as HubSpot returns them (``SimplePublicObject``, research §1.4), and request helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from aiohttp import web

from sandbox import bodies
from sandbox.hubspot import ObjectType
from sandbox.portal import Portal
from sandbox.state import SandboxState
from sandbox.store import Rejected, StoredObject
from sandbox.validate import VALIDATION, invalid_input

STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)
PORTAL: web.RequestKey[Portal] = web.RequestKey("sandbox_portal", Portal)  # set from the token
MAX_INPUTS = 100

# Returned by reads when no properties are asked for (SPEC info.description), plus system ones.
DEFAULT_PROPERTIES: dict[ObjectType, tuple[str, ...]] = {
    ObjectType.CONTACT: ("firstname", "lastname", "email"),
    ObjectType.COMPANY: ("name", "domain"),
    ObjectType.DEAL: ("dealname", "amount", "closedate", "pipeline", "dealstage"),
    ObjectType.TICKET: (
        "content",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "subject",
    ),
    ObjectType.NOTE: ("hs_timestamp",),
    ObjectType.CALL: ("hs_timestamp",),
    ObjectType.TASK: ("hs_timestamp",),
}


def modified_property(object_type: ObjectType) -> str:
    return "lastmodifieddate" if object_type is ObjectType.CONTACT else "hs_lastmodifieddate"


def system_properties(object_type: ObjectType, object_id: str, stamp: str) -> dict[str, str]:
    return {"createdate": stamp, modified_property(object_type): stamp, "hs_object_id": object_id}


def twin(request: web.Request) -> SandboxState:
    """The whole sandbox (every portal)."""
    return request.app[STATE]


def state(request: web.Request) -> Portal:
    """The portal the request's token reaches."""
    return request[PORTAL]


def object_type(request: web.Request) -> ObjectType:
    name = request.match_info["type"]
    try:
        return ObjectType.from_path(name)
    except ValueError:
        raise Rejected(400, VALIDATION, f"Unable to infer object type from: {name}") from None


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise invalid_input(str(exc)) from None


async def read_object(request: web.Request) -> dict[str, Any]:
    """A request body that must be a JSON object."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise invalid_input("the body must be an object")
    return body


async def read_inputs(request: web.Request, call: str) -> list[dict[str, Any]]:
    """The ``inputs`` of a batch call; more than 100 is HubSpot's 400 (research §1.2).

    ``call`` names the call in the sandbox's stats (``"notes/create"``), which count the calls
    and the inputs they carried."""
    body = await read_json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise invalid_input("inputs must be a list of objects")
    if len(inputs) > MAX_INPUTS:
        raise Rejected(400, VALIDATION, bodies.BATCH_TOO_LARGE)
    state(request).count_batch(call, len(inputs))
    return inputs


def object_body(
    obj: StoredObject,
    names: Sequence[str] | None = None,
    *,
    associations: Iterable[ObjectType] = (),
    trace: bool = False,
    new: bool | None = None,
) -> dict[str, Any]:
    """``SimplePublicObject``: all stored properties, or the defaults plus ``names`` (null when
    absent) as reads return them."""
    if names is None:
        properties: dict[str, str | None] = dict(obj.properties)
    else:
        wanted = (*DEFAULT_PROPERTIES[obj.type], *names, "createdate", "hs_object_id")
        wanted += (modified_property(obj.type),)
        properties = {name: obj.properties.get(name) for name in dict.fromkeys(wanted)}
    body: dict[str, Any] = {
        "id": obj.id,
        "properties": properties,
        "createdAt": obj.created_at,
        "updatedAt": obj.updated_at,
        "archived": obj.archived,
    }
    if obj.archived:
        body["archivedAt"] = obj.updated_at
    if new is not None:
        body["new"] = new
    if trace and obj.trace_id:
        body["objectWriteTraceId"] = obj.trace_id
    linked: dict[str, Any] = {}
    for other in associations:
        results = [
            {"id": link.to_id, "type": f"{obj.type.value}_to_{other.value}"}
            for link in obj.links
            if link.to_type is other
        ]
        if results:
            linked[other.path] = {"results": results}
    if linked:
        body["associations"] = linked
    return body


def batch_response(
    portal: Portal,
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    started: int,
    success: int,
) -> web.Response:
    """A batch answer: ``success`` (200 or 201) when every input succeeded, else 207 with the
    per-input errors (research §1.4). Results come in input order unless the portal shuffles
    them (HubSpot does not promise an order)."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": portal.adversary.order(portal.config, results),
        "startedAt": bodies.iso(started),
        "completedAt": bodies.iso(portal.now()),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return bodies.json_response(body, 207 if errors else success)


def names_param(request: web.Request, name: str) -> list[str]:
    return [v for raw in request.query.getall(name, []) for v in raw.split(",") if v]
