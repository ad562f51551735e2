"""How each planned item becomes a HubSpot write: object type, operation, associations, key.

Object types are HubSpot's path names (``/crm/v3/objects/{type}``). Associations are the default
HUBSPOT_DEFINED type ids from the object being written to the object named (research
hubspot-api.md §3.1); the runtime fills in the CRM ids it recorded. A company is created after its
contact, so it carries company → contact (280, the reverse of contact → company 279).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from engine.model.scenario import ActivityType


class ObjectType(StrEnum):
    CONTACT = "contacts"
    COMPANY = "companies"
    DEAL = "deals"
    NOTE = "notes"
    CALL = "calls"
    TASK = "tasks"
    TICKET = "tickets"


@dataclass(frozen=True, slots=True)
class Association:
    """An association from the written object to ``to`` with the default ``type_id``."""

    to: ObjectType
    type_id: int


@dataclass(frozen=True, slots=True)
class ObjectWrite:
    """``create`` a new object of ``object_type``, or ``update`` the record's existing one."""

    object_type: ObjectType
    operation: Literal["create", "update"]
    associations: tuple[Association, ...] = ()


CONTACT_WRITE = ObjectWrite(ObjectType.CONTACT, "create")

WRITES: Mapping[ActivityType, ObjectWrite] = {
    ActivityType.COMPANY: ObjectWrite(
        ObjectType.COMPANY, "create", (Association(ObjectType.CONTACT, 280),)
    ),
    ActivityType.DEAL: ObjectWrite(
        ObjectType.DEAL,
        "create",
        (Association(ObjectType.CONTACT, 3), Association(ObjectType.COMPANY, 341)),
    ),
    ActivityType.NOTE: ObjectWrite(
        ObjectType.NOTE, "create", (Association(ObjectType.CONTACT, 202),)
    ),
    ActivityType.CALL: ObjectWrite(
        ObjectType.CALL, "create", (Association(ObjectType.CONTACT, 194),)
    ),
    ActivityType.TASK: ObjectWrite(
        ObjectType.TASK, "create", (Association(ObjectType.CONTACT, 204),)
    ),
    ActivityType.TICKET: ObjectWrite(
        ObjectType.TICKET, "create", (Association(ObjectType.CONTACT, 16),)
    ),
    ActivityType.LIFECYCLE_UPDATE: ObjectWrite(ObjectType.CONTACT, "update"),
    ActivityType.DEAL_STAGE_UPDATE: ObjectWrite(ObjectType.DEAL, "update"),
}
"""The write each activity type turns into."""


def object_key(sim_id: int, kind: str, index: int, ordinal: int | None = None) -> str:
    """The ``simcrm_key`` of an object: unique per simulation, type, record and ordinal.

    ``"{sim_id}:contact:{index}"`` for a contact, ``"{sim_id}:{kind}:{index}:{ordinal}"`` for
    anything a record gets after it.
    """
    if ordinal is None:
        return f"{sim_id}:{kind}:{index}"
    return f"{sim_id}:{kind}:{index}:{ordinal}"
