"""How the sandbox reads and checks request bodies, the way HubSpot refuses bad input.

Property values are stored as strings (numbers and booleans are accepted and turned into
strings); ``hs_timestamp`` is required on notes, calls and tasks and must be epoch ms or ISO
8601; a contact's email must look like one; with strict properties, ``simcrm_*`` properties must
have been created first. Every problem of one input is reported together in HubSpot's
``Property values were not valid: [...]`` message (research §1.4, §5.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sandbox import bodies
from sandbox.hubspot import ObjectType, association_target
from sandbox.store import Link, Rejected, SandboxStore

VALIDATION = "VALIDATION_ERROR"
CUSTOM_PREFIX = "simcrm_"


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


def check_properties(
    store: SandboxStore,
    object_type: ObjectType,
    properties: dict[str, str],
    *,
    creating: bool,
    strict: bool,
) -> None:
    """Refuse what HubSpot would refuse; normalises ``hs_timestamp`` in place."""
    problems: list[dict[str, Any]] = []
    if strict:
        for name in properties:
            if name.startswith(CUSTOM_PREFIX) and store.definition(object_type, name) is None:
                problems.append(
                    _problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
    if object_type.is_engagement:
        stamp = properties.get("hs_timestamp")
        if stamp is None and creating:
            problems.append(
                _problem("hs_timestamp", "REQUIRED_FIELD", "hs_timestamp is a required property")
            )
        elif stamp is not None:
            moment = timestamp_ms(stamp)
            if moment is None:
                problems.append(
                    _problem(
                        "hs_timestamp",
                        "INVALID_DATETIME",
                        f"{stamp} is not a valid datetime: use epoch milliseconds or ISO 8601",
                    )
                )
            else:
                properties["hs_timestamp"] = bodies.iso(moment)
    if object_type is ObjectType.CONTACT and (email := properties.get("email")):
        local, _, domain = email.partition("@")
        if not local or "." not in domain or " " in email:
            problems.append(_problem("email", "INVALID_EMAIL", f"Email address {email} is invalid"))
    if problems:
        raise Rejected(400, VALIDATION, bodies.invalid_properties(problems))


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
