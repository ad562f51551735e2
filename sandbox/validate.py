"""How the sandbox reads and checks request bodies, the way HubSpot refuses bad input.

Property values are stored as strings (numbers and booleans are accepted and turned into
strings). Each value is checked against its property as the portal defines it (HubSpot's own
properties, from :mod:`sandbox.catalog`, or those created through the API): unknown names,
numbers, datetimes (epoch ms or ISO 8601), enumeration options, pipeline stages, text length,
the properties a create requires, a contact's email. Every problem of one input is reported
together in HubSpot's ``Property values were not valid: [...]`` message, and again one by one
in ``errors[]`` with the property's name in ``context`` (research §1.4, §5.1, §5.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sandbox import bodies
from sandbox.catalog import MAX_TEXT_LENGTH, PIPELINE_PROPERTIES, REQUIRED
from sandbox.hubspot import ObjectType, association_target
from sandbox.store import Link, PropertyDef, Rejected, SandboxStore

VALIDATION = "VALIDATION_ERROR"


def invalid_input(message: str) -> Rejected:
    return Rejected(400, VALIDATION, f"Invalid input JSON: {message}")


def _problem(name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def timestamp_ms(value: str) -> int | None:
    """Epoch ms from ``1700000000000`` or an ISO 8601 instant; None when it is neither."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


def parse_properties(raw: Any) -> dict[str, str]:
    """The ``properties`` object of an input, every value a string."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise invalid_input("properties must be an object of property names to values")
    values: dict[str, str] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            values[str(name)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            values[str(name)] = str(value)
        else:
            raise invalid_input(f"the value of property {name!r} must be a string")
    return values


def _datetime_problem(name: str, value: str) -> dict[str, Any] | None:
    if timestamp_ms(value) is not None or _is_date(value):
        return None
    return _problem(
        name,
        "INVALID_DATETIME",
        f"{value} is not a valid datetime: use epoch milliseconds or ISO 8601",
    )


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _value_problem(name: str, value: str, spec: PropertyDef) -> dict[str, Any] | None:
    """What is wrong with one non-empty value of a known property, if anything."""
    if len(value) > MAX_TEXT_LENGTH:
        return _problem(
            name,
            "INVALID_LONG_STRING",
            f"{name} is {len(value)} characters long; the most allowed is {MAX_TEXT_LENGTH}",
        )
    if spec.type == "number":
        try:
            float(value)
        except ValueError:
            return _problem(name, "INVALID_FLOAT", f"{value} was not a valid number")
    elif spec.type in ("datetime", "date"):
        return _datetime_problem(name, value)
    elif spec.type == "enumeration" and spec.options:
        allowed = [o.value for o in spec.options]
        given = value.split(";") if spec.field_type == "checkbox" else [value]
        wrong = [v for v in given if v not in allowed]
        if wrong:
            return _problem(
                name,
                "INVALID_OPTION",
                f"{wrong[0]} was not one of the allowed options: [{', '.join(allowed)}]",
            )
    return None


def _pipeline_problems(
    store: SandboxStore,
    object_type: ObjectType,
    properties: dict[str, str],
    existing: Mapping[str, str],
    creating: bool,
) -> list[dict[str, Any]]:
    """A deal's stage must belong to its pipeline, a ticket's too; a create without a pipeline
    goes to the first one."""
    names = PIPELINE_PROPERTIES.get(object_type)
    if names is None:
        return []
    pipeline_name, stage_name = names
    pipeline_id = properties.get(pipeline_name) or existing.get(pipeline_name)
    if not pipeline_id and creating and store.pipelines[object_type]:
        pipeline_id = properties[pipeline_name] = store.pipelines[object_type][0].id
    pipeline = store.pipeline(object_type, pipeline_id or "")
    if pipeline is None:
        known = [p.id for p in store.pipelines[object_type]]
        return [
            _problem(
                pipeline_name,
                "INVALID_OPTION",
                f"{pipeline_id} was not one of the allowed options: [{', '.join(known)}]",
            )
        ]
    stage = properties.get(stage_name)
    if stage and pipeline.stage(stage) is None:
        stages = [s.id for s in pipeline.stages]
        return [
            _problem(
                stage_name,
                "INVALID_OPTION",
                f"{stage} is not a valid stage of pipeline {pipeline.id}: "
                f"allowed options: [{', '.join(stages)}]",
            )
        ]
    return []


def check_properties(
    store: SandboxStore,
    object_type: ObjectType,
    properties: dict[str, str],
    *,
    creating: bool,
    strict: bool,
    existing: Mapping[str, str] | None = None,
) -> None:
    """Refuse what HubSpot would refuse: properties the portal lacks (when ``strict``), values
    that are not numbers, datetimes or options of their property, stages outside the pipeline,
    missing required properties, malformed emails. Normalises ``hs_timestamp`` in place and
    fills in the default pipeline of a create."""
    problems: list[dict[str, Any]] = []
    for name, value in properties.items():
        spec = store.describe(object_type, name)
        if spec is None:
            if strict:
                problems.append(
                    _problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
        elif value and (problem := _value_problem(name, value, spec)) is not None:
            problems.append(problem)
    if creating:
        for name in REQUIRED[object_type]:
            if not properties.get(name):
                problems.append(_problem(name, "REQUIRED_FIELD", f"{name} is a required property"))
    problems += _pipeline_problems(store, object_type, properties, existing or {}, creating)
    stamp = properties.get("hs_timestamp")
    if object_type.is_engagement and stamp and (moment := timestamp_ms(stamp)) is not None:
        properties["hs_timestamp"] = bodies.iso(moment)
    if object_type is ObjectType.CONTACT and (email := properties.get("email")):
        local, _, domain = email.partition("@")
        if not local or "." not in domain or " " in email:
            problems.append(_problem("email", "INVALID_EMAIL", f"Email address {email} is invalid"))
    if problems:
        raise Rejected(
            400,
            VALIDATION,
            bodies.invalid_properties(problems),
            errors=[
                {
                    "message": p["message"],
                    "code": p["error"],
                    "context": {"propertyName": [p["name"]]},
                }
                for p in problems
            ],
        )


def backwards_lifecycle(order: Sequence[str], before: str | None, after: str | None) -> bool:
    """Whether ``after`` comes before ``before`` among the lifecycle stages, in ``order``."""
    if not before or not after or before not in order or after not in order:
        return False
    return order.index(after) < order.index(before)


def parse_links(store: SandboxStore, object_type: ObjectType, raw: Any) -> list[Link]:
    """The inline ``associations`` of a create: targets must exist, type ids must fit."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_input("associations must be a list")
    links: list[Link] = []
    for entry in raw:
        try:
            target_id = str(entry["to"]["id"])
            kinds = entry["types"]
            type_ids = [int(kind["associationTypeId"]) for kind in kinds]
        except (KeyError, TypeError, ValueError):
            raise invalid_input(
                "each association needs to.id and types[].associationTypeId"
            ) from None
        target_type = association_target(object_type, type_ids[0] if type_ids else -1)
        if target_type is None:
            raise Rejected(
                400,
                VALIDATION,
                f"{type_ids[:1]} is not a valid association type id from {object_type.path}",
            )
        if store.get(target_type, target_id) is None:
            raise Rejected(
                400,
                VALIDATION,
                f"One or more associations are invalid: {target_type.path} {target_id} "
                "does not exist",
            )
        links.extend(Link(target_type, target_id, type_id) for type_id in type_ids)
    return links


def association_fits(from_type: ObjectType, to_type: ObjectType, type_id: int) -> bool:
    return association_target(from_type, type_id) is to_type
