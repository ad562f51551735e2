"""Single-object endpoints: ``/crm/v3/objects/{type}`` create and list, and
``/crm/v3/objects/{type}/{id}`` read, update and archive (research §1.1)."""

from __future__ import annotations

from aiohttp import web

from sandbox import bodies
from sandbox.hubspot import ObjectType
from sandbox.portal import Portal
from sandbox.render import (
    modified_property,
    names_param,
    object_body,
    object_type,
    read_json,
    read_object,
    state,
    system_properties,
)
from sandbox.store import Link, Rejected, StoredObject, UniqueConflict
from sandbox.validate import (
    VALIDATION,
    backwards_lifecycle,
    check_properties,
    parse_links,
    parse_properties,
)

routes = web.RouteTableDef()


def not_found(object_id: str) -> Rejected:
    return Rejected(
        404,
        "OBJECT_NOT_FOUND",
        "Object not found.  objectId are usually numeric.",
        {"id": [object_id]},
    )


def new_object(
    sandbox: Portal,
    kind: ObjectType,
    properties: dict[str, str],
    links: list[Link],
    now: int,
    trace_id: str | None = None,
    stamp: str | None = None,
) -> StoredObject:
    """Check and store one new object as HubSpot would (validation, unique values, system
    properties); raises Rejected with HubSpot's answer otherwise. ``stamp`` is ``now``
    already formatted, when a batch has it."""
    store, config = sandbox.store, sandbox.config
    check_properties(store, kind, properties, creating=True, strict=config.strict_properties)
    try:
        store.check_unique(kind, properties)
    except UniqueConflict as conflict:
        raise sandbox.adversary.refusal(config, conflict, kind) from None
    object_id = store.new_id()
    properties = {**system_properties(kind, object_id, stamp or bodies.iso(now)), **properties}
    properties["hs_object_id"] = object_id
    lag = sandbox.adversary.search_lag_ms(config)
    return store.create(
        kind, properties, links, now, trace_id, object_id=object_id, search_lag_ms=lag
    )


def _hold_lifecycle(sandbox: Portal, obj: StoredObject, properties: dict[str, str]) -> None:
    """A lifecycle stage may only move forward in the order of the property's options (clear it
    first to go back): HubSpot leaves
    the stage as it was, or, with ``lifecycle_backwards=refuse``, refuses the write."""
    wanted = properties.get("lifecyclestage")
    spec = sandbox.store.describe(obj.type, "lifecyclestage")
    order = [option.value for option in spec.options] if spec is not None else []
    if not backwards_lifecycle(order, obj.properties.get("lifecyclestage"), wanted):
        return
    if sandbox.config.lifecycle_backwards == "refuse":
        message = (
            f"lifecyclestage cannot move backwards from {obj.properties['lifecyclestage']} "
            f"to {wanted}; clear it first"
        )
        raise Rejected(
            400,
            VALIDATION,
            message,
            errors=[
                {
                    "message": message,
                    "code": "INVALID_OPTION",
                    "context": {"propertyName": ["lifecyclestage"]},
                }
            ],
        )
    sandbox.lifecycle_ignored += 1
    del properties["lifecyclestage"]


def change_object(sandbox: Portal, obj: StoredObject, properties: dict[str, str], now: int) -> None:
    store, config = sandbox.store, sandbox.config
    check_properties(
        store,
        obj.type,
        properties,
        creating=False,
        strict=config.strict_properties,
        existing=obj.properties,
    )
    try:
        store.check_unique(obj.type, properties, exclude=obj.id)
    except UniqueConflict as conflict:
        raise sandbox.adversary.refusal(config, conflict, obj.type) from None
    if obj.type in (ObjectType.CONTACT, ObjectType.COMPANY):
        _hold_lifecycle(sandbox, obj, properties)
    properties[modified_property(obj.type)] = bodies.iso(now)
    store.update(obj, properties, now)


@routes.post("/crm/v3/objects/{type}")
async def create(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    body = await read_object(request)
    properties = parse_properties(body.get("properties"))
    links = parse_links(sandbox.store, kind, body.get("associations"))
    obj = new_object(sandbox, kind, properties, links, sandbox.now())
    return bodies.json_response(object_body(obj), 201)


@routes.get("/crm/v3/objects/{type}")
async def list_objects(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    try:
        limit = min(100, max(1, int(request.query.get("limit", "10"))))
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise Rejected(400, VALIDATION, "limit and after must be integers") from None
    live = sorted(sandbox.store.live(kind), key=lambda o: int(o.id))
    page = [o for o in live if int(o.id) > after][:limit]
    body: dict[str, object] = {
        "results": [object_body(o, names_param(request, "properties")) for o in page]
    }
    if len(page) == limit and page and int(page[-1].id) < int(live[-1].id):
        body["paging"] = {"next": {"after": page[-1].id}}
    return bodies.json_response(body)


def _existing(request: web.Request, sandbox: Portal, kind: ObjectType) -> StoredObject:
    """The object the path names (by id, or by ``?idProperty=``); HubSpot's 404 otherwise."""
    object_id = request.match_info["id"]
    obj = sandbox.store.get(kind, object_id, request.query.get("idProperty"))
    if obj is None:
        raise not_found(object_id)
    return obj


@routes.get("/crm/v3/objects/{type}/{id}")
async def read(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    obj = _existing(request, sandbox, kind)
    linked = [ObjectType.from_path(name) for name in names_param(request, "associations")]
    return bodies.json_response(
        object_body(obj, names_param(request, "properties"), associations=linked)
    )


@routes.patch("/crm/v3/objects/{type}/{id}")
async def update(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    obj = _existing(request, sandbox, kind)
    body = await read_json(request)
    properties = parse_properties(body.get("properties") if isinstance(body, dict) else None)
    change_object(sandbox, obj, properties, sandbox.now())
    return bodies.json_response(object_body(obj))


@routes.delete("/crm/v3/objects/{type}/{id}")
async def archive(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    obj = sandbox.store.get(kind, request.match_info["id"])
    if obj is not None:
        sandbox.store.archive(obj, sandbox.now())
    return web.Response(status=204)
