"""A portal's schema: ``/crm/v3/properties/{type}`` (HubSpot's own properties and created ones,
with ``hasUniqueValue``), property groups and ``/crm/v3/pipelines/{type}`` (research §6)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from sandbox import bodies
from sandbox.catalog import PIPELINE_PROPERTIES, Option, Pipeline, Stage
from sandbox.hubspot import ObjectType
from sandbox.render import object_type, read_object, state
from sandbox.store import PropertyDef, Rejected
from sandbox.validate import VALIDATION

routes = web.RouteTableDef()
PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool", "phone_number")
FIELD_TYPES = (
    "text", "textarea", "number", "date", "select", "radio", "checkbox", "booleancheckbox",
    "file", "html", "phonenumber", "calculation_equation",
)  # fmt: skip
PORTAL_CREATED = bodies.iso(1_704_067_200_000)  # when every portal's defaults were made


def _name(raw: object, what: str) -> str:
    name = str(raw)
    if not name or not name.replace("_", "").isalnum() or name != name.lower():
        raise Rejected(400, VALIDATION, f"{what} {name!r} must be lowercase letters, digits and _")
    return name


def _missing(body: dict[str, Any], *fields: str) -> None:
    missing = [k for k in fields if not body.get(k)]
    if missing:
        raise Rejected(400, VALIDATION, f"Missing required fields: {', '.join(missing)}")


def _options(raw: Any) -> tuple[Option, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(o, dict) and "value" in o for o in raw):
        raise Rejected(400, VALIDATION, "options must be a list of {label, value} objects")
    return tuple(Option(str(o["value"]), str(o.get("label") or o["value"])) for o in raw)


# -- groups (registered before /{name} so that "groups" is not read as a property name) -------


def _group_json(name: str, label: str, order: int) -> dict[str, Any]:
    return {"name": name, "label": label, "displayOrder": order, "archived": False}


@routes.get("/crm/v3/properties/{type}/groups")
async def list_groups(request: web.Request) -> web.Response:
    groups = state(request).store.groups[object_type(request)]
    listed = [_group_json(n, label, i) for i, (n, label) in enumerate(groups.items())]
    return bodies.json_response({"results": listed})


@routes.post("/crm/v3/properties/{type}/groups")
async def create_group(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    body = await read_object(request)
    _missing(body, "name", "label")
    name = _name(body["name"], "Group name")
    groups = sandbox.store.groups[kind]
    if name in groups:
        raise Rejected(
            409, "OBJECT_ALREADY_EXISTS", f"Property group named '{name}' already exists."
        )
    groups[name] = str(body["label"])
    order = int(body.get("displayOrder") or -1)
    return bodies.json_response(_group_json(name, groups[name], order), 201)


# -- properties --------------------------------------------------------------------------------


@routes.get("/crm/v3/properties/{type}")
async def list_properties(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    listed = sandbox.store.all_properties(kind)
    return bodies.json_response({"results": [p.to_json() for p in listed]})


@routes.get("/crm/v3/properties/{type}/{name}")
async def read_property(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    found = sandbox.store.describe(kind, request.match_info["name"])
    if found is None:
        raise Rejected(
            404, "OBJECT_NOT_FOUND", f"Unable to find property {request.match_info['name']}"
        )
    return bodies.json_response(found.to_json())


@routes.post("/crm/v3/properties/{type}")
async def create_property(request: web.Request) -> web.Response:
    """A new property; its type, field type and group must exist, and enumerations list their
    options (which then bound the values objects may take)."""
    sandbox, kind = state(request), object_type(request)
    body = await read_object(request)
    _missing(body, "name", "label", "type", "fieldType", "groupName")
    name = _name(body["name"], "Property name")
    kind_name, field_type, group = str(body["type"]), str(body["fieldType"]), str(body["groupName"])
    if kind_name not in PROPERTY_TYPES:
        raise Rejected(400, VALIDATION, f"type must be one of {', '.join(PROPERTY_TYPES)}")
    if field_type not in FIELD_TYPES:
        raise Rejected(400, VALIDATION, f"fieldType must be one of {', '.join(FIELD_TYPES)}")
    if group not in sandbox.store.groups[kind]:
        raise Rejected(
            400,
            VALIDATION,
            f"Property group {group} does not exist for {kind.path}",
            errors=[{"message": "Unknown group", "context": {"groupName": [group]}}],
        )
    spec = PropertyDef(
        name=name,
        label=str(body["label"]),
        type=kind_name,
        field_type=field_type,
        group_name=group,
        unique=bool(body.get("hasUniqueValue", False)),
        created_ms=sandbox.now(),
        description=str(body.get("description") or ""),
        options=_options(body.get("options")),
    )
    return bodies.json_response(sandbox.store.define(kind, spec).to_json(), 201)


@routes.patch("/crm/v3/properties/{type}/{name}")
async def update_property(request: web.Request) -> web.Response:
    """Change a property's label, description, group or options (HubSpot's own enumerations,
    such as ``lifecyclestage``, take new options too); uniqueness cannot change once set."""
    sandbox, kind = state(request), object_type(request)
    name = request.match_info["name"]
    found = sandbox.store.describe(kind, name)
    if found is None:
        raise Rejected(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
    body = await read_object(request)
    if "hasUniqueValue" in body and bool(body["hasUniqueValue"]) != found.unique:
        message = "hasUniqueValue can only be set when a property is created"
        raise Rejected(400, VALIDATION, message)
    group = str(body.get("groupName") or found.group_name)
    if group not in sandbox.store.groups[kind]:
        raise Rejected(400, VALIDATION, f"Property group {group} does not exist for {kind.path}")
    changed = dataclasses.replace(
        found,
        label=str(body.get("label") or found.label),
        description=str(body.get("description", found.description) or ""),
        group_name=group,
        options=_options(body["options"]) if "options" in body else found.options,
    )
    return bodies.json_response(sandbox.store.redefine(kind, changed).to_json())


# -- pipelines ---------------------------------------------------------------------------------


def _pipeline_type(request: web.Request) -> ObjectType:
    kind = object_type(request)
    if kind not in PIPELINE_PROPERTIES:
        raise Rejected(400, VALIDATION, f"{kind.path} do not have pipelines")
    return kind


def _metadata(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (raw or {}).items()} if isinstance(raw, dict) else {}


def _stage_json(stage: Stage, order: int) -> dict[str, Any]:
    return {
        "id": stage.id,
        "label": stage.label,
        "displayOrder": order,
        "metadata": dict(stage.metadata),
        "archived": False,
        "createdAt": PORTAL_CREATED,
        "updatedAt": PORTAL_CREATED,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def _pipeline_json(pipeline: Pipeline, order: int) -> dict[str, Any]:
    return {
        "id": pipeline.id,
        "label": pipeline.label,
        "displayOrder": order,
        "archived": False,
        "createdAt": PORTAL_CREATED,
        "updatedAt": PORTAL_CREATED,
        "stages": [_stage_json(s, i) for i, s in enumerate(pipeline.stages)],
    }


@routes.get("/crm/v3/pipelines/{type}")
async def list_pipelines(request: web.Request) -> web.Response:
    pipelines = state(request).store.pipelines[_pipeline_type(request)]
    return bodies.json_response(
        {"results": [_pipeline_json(p, i) for i, p in enumerate(pipelines)]}
    )


def _existing_pipeline(request: web.Request, kind: ObjectType) -> Pipeline:
    pipeline_id = request.match_info["id"]
    found = state(request).store.pipeline(kind, pipeline_id)
    if found is None:
        raise Rejected(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {pipeline_id}")
    return found


@routes.get("/crm/v3/pipelines/{type}/{id}")
async def read_pipeline(request: web.Request) -> web.Response:
    sandbox, kind = state(request), _pipeline_type(request)
    found = _existing_pipeline(request, kind)
    return bodies.json_response(_pipeline_json(found, sandbox.store.pipelines[kind].index(found)))


@routes.delete("/crm/v3/pipelines/{type}/{id}")
async def archive_pipeline(request: web.Request) -> web.Response:
    sandbox, kind = state(request), _pipeline_type(request)
    found = sandbox.store.pipeline(kind, request.match_info["id"])
    if found is None:
        raise Rejected(
            404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {request.match_info['id']}"
        )
    sandbox.store.pipelines[kind].remove(found)
    return web.Response(status=204)


@routes.post("/crm/v3/pipelines/{type}")
async def create_pipeline(request: web.Request) -> web.Response:
    """A new pipeline: a label and at least one stage (deal stages carry a probability)."""
    sandbox, kind = state(request), _pipeline_type(request)
    body = await read_object(request)
    _missing(body, "label", "stages")
    raw = body["stages"]
    if not isinstance(raw, list) or not all(isinstance(s, dict) and s.get("label") for s in raw):
        raise Rejected(400, VALIDATION, "stages must be a list of objects with a label")
    if kind is ObjectType.DEAL and any("probability" not in (s.get("metadata") or {}) for s in raw):
        raise Rejected(400, VALIDATION, "every deal stage needs metadata.probability")
    store = sandbox.store
    stages = tuple(
        Stage(
            store.new_id(),
            str(s["label"]),
            {k: str(v) for k, v in (s.get("metadata") or {}).items()},
        )
        for s in raw
    )
    pipeline = Pipeline(store.new_id(), str(body["label"]), stages)
    store.pipelines[kind].append(pipeline)
    return bodies.json_response(_pipeline_json(pipeline, len(store.pipelines[kind]) - 1), 201)
