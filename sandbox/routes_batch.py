"""Batch endpoints: ``/crm/v3/objects/{type}/batch/create|upsert|update|read|archive``.

At most 100 inputs (HubSpot's 400 otherwise). ``batch/create`` is all-or-nothing — the first bad
input fails the whole call with its own error, as a duplicate email's 409 does — unless every
input carries an ``objectWriteTraceId``: then good inputs are created and bad ones reported per
input in a 207 (research §1.4, §5.2). Upsert, update and read answer 207 for per-input errors.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox import bodies
from sandbox.render import (
    batch_response,
    object_body,
    object_type,
    read_inputs,
    read_json,
    state,
)
from sandbox.routes_objects import change_object, new_object
from sandbox.store import Rejected, StoredObject
from sandbox.validate import VALIDATION, invalid_input, parse_links, parse_properties

routes = web.RouteTableDef()
MAX_HISTORY_INPUTS = 50  # batch read asking for property histories (research §1.2)


def _trace(entry: dict[str, Any]) -> str | None:
    trace = entry.get("objectWriteTraceId")
    return trace if isinstance(trace, str) and trace else None


def _per_input(error: Rejected, context: dict[str, list[str]]) -> dict[str, Any]:
    return bodies.item_error(error.message, error.category, {**error.context, **context})


def _unique_ids(inputs: list[dict[str, Any]]) -> list[str]:
    ids = []
    for entry in inputs:
        if not isinstance(entry.get("id"), str | int):
            raise invalid_input("every input needs an id")
        ids.append(str(entry["id"]))
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise Rejected(
            400,
            VALIDATION,
            f"Duplicate IDs found in batch input: [{', '.join(repeated)}]. IDs must be unique",
            {"ids": repeated},
        )
    return ids


@routes.post("/crm/v3/objects/{type}/batch/create")
async def batch_create(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    inputs = await read_inputs(request, f"{kind.path}/create")
    started = now = sandbox.now()
    traced = bool(inputs) and all(_trace(entry) for entry in inputs)
    stamp = bodies.iso(now)
    created: list[StoredObject] = []
    errors: list[dict[str, Any]] = []
    for entry in inputs:
        trace = _trace(entry)
        try:
            properties = parse_properties(entry.get("properties"))
            links = parse_links(sandbox.store, kind, entry.get("associations"))
            created.append(new_object(sandbox, kind, properties, links, now, trace, stamp))
        except Rejected as error:
            if not traced:
                for obj in created:
                    sandbox.store.discard(obj)
                raise
            if error.category == "CONFLICT":
                sandbox.conflicts += 1
            errors.append(_per_input(error, {"objectWriteTraceId": [trace or ""]}))
    echo = sandbox.config.echo_trace_ids
    results = [object_body(obj, trace=echo) for obj in created]
    return batch_response(sandbox, results, errors, started, 201)


@routes.post("/crm/v3/objects/{type}/batch/upsert")
async def batch_upsert(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    inputs = await read_inputs(request, f"{kind.path}/upsert")
    ids = _unique_ids(inputs)
    started = now = sandbox.now()
    for entry in inputs:
        name = entry.get("idProperty")
        if not isinstance(name, str) or not sandbox.store.is_unique(kind, name):
            raise Rejected(
                400,
                VALIDATION,
                f"idProperty {name!r} is not a unique property of {kind.path}",
            )
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for entry, value in zip(inputs, ids, strict=True):
        trace, name = _trace(entry), entry["idProperty"]
        try:
            properties = parse_properties(entry.get("properties"))
            existing = sandbox.store.get(kind, value, name)
            if existing is not None:
                change_object(sandbox, existing, properties, now)
                obj, new = existing, False
            else:
                obj = new_object(sandbox, kind, {**properties, name: value}, [], now, trace)
                new = True
            body = object_body(obj, new=new)
            if trace and sandbox.config.echo_trace_ids:
                body["objectWriteTraceId"] = trace
            results.append(body)
        except Rejected as error:
            context = {"objectWriteTraceId": [trace]} if trace else {"ids": [value]}
            errors.append(_per_input(error, context))
    return batch_response(sandbox, results, errors, started, 200)


@routes.post("/crm/v3/objects/{type}/batch/update")
async def batch_update(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    inputs = await read_inputs(request, f"{kind.path}/update")
    ids = _unique_ids(inputs)
    started = now = sandbox.now()
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for entry, key in zip(inputs, ids, strict=True):
        trace = _trace(entry)
        context = {"objectWriteTraceId": [trace]} if trace else {"ids": [key]}
        obj = sandbox.store.get(kind, key, entry.get("idProperty"))
        if obj is None:
            errors.append(
                bodies.item_error(
                    "Object not found.  objectId are usually numeric.",
                    "OBJECT_NOT_FOUND",
                    {"ids": [key], **context},
                )
            )
            continue
        try:
            change_object(sandbox, obj, parse_properties(entry.get("properties")), now)
        except Rejected as error:
            errors.append(_per_input(error, context))
            continue
        body = object_body(obj)
        if trace and sandbox.config.echo_trace_ids:
            body["objectWriteTraceId"] = trace
        results.append(body)
    return batch_response(sandbox, results, errors, started, 200)


@routes.post("/crm/v3/objects/{type}/batch/read")
async def batch_read(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    body = await read_json(request)
    inputs = await read_inputs(request, f"{kind.path}/read")
    ids = _unique_ids(inputs)
    names = body.get("properties") or []
    id_property = body.get("idProperty")
    if body.get("propertiesWithHistory") and len(inputs) > MAX_HISTORY_INPUTS:
        raise Rejected(400, VALIDATION, bodies.HISTORY_TOO_LARGE)
    if not isinstance(names, list):
        raise invalid_input("properties must be a list of names")
    started = sandbox.now()
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for key in ids:
        obj = sandbox.store.get(kind, key, id_property)
        if obj is None:
            missing.append(key)
        else:
            found.append(object_body(obj, [str(n) for n in names]))
    errors = []
    if missing:
        errors.append(
            bodies.item_error(
                f"Could not get some {kind.name} objects, they may be deleted or not exist. "
                "Check that ids are valid.",
                "OBJECT_NOT_FOUND",
                {"ids": missing},
            )
        )
    return batch_response(sandbox, found, errors, started, 200)


@routes.post("/crm/v3/objects/{type}/batch/archive")
async def batch_archive(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    inputs = await read_inputs(request, f"{kind.path}/archive")
    now = sandbox.now()
    for entry in inputs:
        obj = sandbox.store.get(kind, str(entry.get("id", "")))
        if obj is not None:
            sandbox.store.archive(obj, now)
    return web.Response(status=204)
