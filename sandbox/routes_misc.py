"""Search, v4 associations and account info (research §1.1, §3.2, §6).

Search sees an object only ``search_lag_ms`` after it was created, as HubSpot's index lags
behind writes; it pages by ``after`` and caps ``limit`` at 200.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from sandbox import bodies
from sandbox.hubspot import ObjectType
from sandbox.render import (
    batch_response,
    object_body,
    object_type,
    read_inputs,
    read_object,
    state,
)
from sandbox.store import Link, Rejected, StoredObject
from sandbox.validate import VALIDATION, association_fits, invalid_input

routes = web.RouteTableDef()
MAX_SEARCH_LIMIT = 200


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _matches(obj: StoredObject, flt: Mapping[str, Any]) -> bool:
    name, operator = str(flt.get("propertyName", "")), str(flt.get("operator", "EQ"))
    value = obj.properties.get(name) if name != "hs_object_id" else obj.id
    wanted = flt.get("value")
    wanted_text = None if wanted is None else str(wanted)
    if operator == "HAS_PROPERTY":
        return bool(value)
    if operator == "NOT_HAS_PROPERTY":
        return not value
    if operator in ("IN", "NOT_IN"):
        values = {str(v).lower() for v in flt.get("values") or ()}
        inside = value is not None and value.lower() in values
        return inside if operator == "IN" else not inside
    if operator == "EQ":
        return (
            value is not None and wanted_text is not None and value.lower() == wanted_text.lower()
        )
    if operator == "NEQ":
        return value is None or wanted_text is None or value.lower() != wanted_text.lower()
    if operator == "CONTAINS_TOKEN":
        return value is not None and (wanted_text or "").strip("*").lower() in value.lower()
    left, right = _number(value), _number(wanted_text)
    if left is None or right is None:
        return False
    return {
        "GT": left > right,
        "GTE": left >= right,
        "LT": left < right,
        "LTE": left <= right,
    }.get(operator, False)


@routes.post("/crm/v3/objects/{type}/search")
async def search(request: web.Request) -> web.Response:
    sandbox, kind = state(request), object_type(request)
    body = await read_object(request)
    groups = body.get("filterGroups") or []
    try:
        limit = min(MAX_SEARCH_LIMIT, max(1, int(body.get("limit", 10))))
        offset = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise Rejected(400, VALIDATION, "limit and after must be integers") from None
    now, lag = sandbox.now(), sandbox.config.search_lag_ms
    hits = [
        obj
        for obj in sandbox.store.live(kind)
        if obj.received_ms + (lag if obj.search_lag_ms is None else obj.search_lag_ms) <= now
        and (
            not groups or any(all(_matches(obj, f) for f in g.get("filters") or ()) for g in groups)
        )
    ]
    hits.sort(key=lambda obj: int(obj.id))
    page = hits[offset : offset + limit]
    names = [str(name) for name in body.get("properties") or ()]
    answer: dict[str, Any] = {
        "total": len(hits),
        "results": [object_body(obj, names) for obj in page],
    }
    if offset + limit < len(hits):
        answer["paging"] = {"next": {"after": str(offset + limit)}}
    return bodies.json_response(answer)


@routes.post("/crm/v4/associations/{from}/{to}/batch/create")
async def associate(request: web.Request) -> web.Response:
    sandbox = state(request)
    try:
        from_type = ObjectType.from_path(request.match_info["from"])
        to_type = ObjectType.from_path(request.match_info["to"])
    except ValueError as exc:
        raise Rejected(400, VALIDATION, str(exc)) from None
    inputs = await read_inputs(request, f"associations/{from_type.path}-{to_type.path}")
    started = sandbox.now()
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    store = sandbox.store
    for entry in inputs:
        try:
            a, b = str(entry["from"]["id"]), str(entry["to"]["id"])
            type_ids = [int(t["associationTypeId"]) for t in entry["types"]]
        except (KeyError, TypeError, ValueError):
            raise invalid_input("each input needs from.id, to.id and types") from None
        source, target = store.get(from_type, a), store.get(to_type, b)
        if source is None or target is None or not type_ids:
            errors.append(
                bodies.item_error(
                    "One or more objects do not exist", "OBJECT_NOT_FOUND", {"ids": [a, b]}
                )
            )
            continue
        if not all(association_fits(from_type, to_type, t) for t in type_ids):
            errors.append(
                bodies.item_error(
                    f"Invalid association type for {from_type.path} to {to_type.path}",
                    VALIDATION,
                    {"ids": [a, b]},
                )
            )
            continue
        for type_id in type_ids:
            store.link(source, Link(to_type, b, type_id))
        results.append(
            {
                "fromObjectTypeId": from_type.type_id,
                "fromObjectId": a,
                "toObjectTypeId": to_type.type_id,
                "toObjectId": b,
                "labels": [],
            }
        )
    return batch_response(sandbox, results, errors, started, 201)


@routes.get("/account-info/v3/details")
async def account_details(request: web.Request) -> web.Response:
    sandbox = state(request)
    config = sandbox.config
    moment = datetime.fromtimestamp(sandbox.now() / 1000, tz=UTC)
    offset = ZoneInfo(config.time_zone).utcoffset(moment) or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return bodies.json_response(
        {
            "portalId": config.portal_id,
            "accountType": "DEVELOPER_TEST",
            "timeZone": config.time_zone,
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
            "utcOffsetMilliseconds": minutes * 60_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }
    )
