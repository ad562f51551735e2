"""How each planned item becomes a HubSpot write: object type, operation, associations, key.

Object types and association type ids are the client's (:mod:`engine.crm.objects`; research
hubspot-api.md §3.1); the runtime fills in the CRM ids it recorded. A company is created after its
contact, so it carries company → contact (280, the reverse of contact → company 279).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from engine.crm.objects import ObjectType, association_type_id
from engine.model.scenario import ActivityType


@dataclass(frozen=True, slots=True)
class ObjectWrite:
    """``create`` a new object of ``object_type`` associated with the record's objects of the
    ``associate_with`` types, or ``update`` the record's existing one."""

    object_type: ObjectType
    operation: Literal["create", "update"]
    associate_with: tuple[ObjectType, ...] = ()

    def association_type_ids(self) -> tuple[tuple[ObjectType, int], ...]:
        """Each associated type with its default HubSpot association type id."""
        return tuple(
            (target, association_type_id(self.object_type, target))
            for target in self.associate_with
        )


CONTACT_WRITE = ObjectWrite(ObjectType.CONTACT, "create")

WRITES: Mapping[ActivityType, ObjectWrite] = {
    ActivityType.COMPANY: ObjectWrite(ObjectType.COMPANY, "create", (ObjectType.CONTACT,)),
    ActivityType.DEAL: ObjectWrite(
        ObjectType.DEAL, "create", (ObjectType.CONTACT, ObjectType.COMPANY)
    ),
    ActivityType.NOTE: ObjectWrite(ObjectType.NOTE, "create", (ObjectType.CONTACT,)),
    ActivityType.CALL: ObjectWrite(ObjectType.CALL, "create", (ObjectType.CONTACT,)),
    ActivityType.TASK: ObjectWrite(ObjectType.TASK, "create", (ObjectType.CONTACT,)),
    ActivityType.TICKET: ObjectWrite(ObjectType.TICKET, "create", (ObjectType.CONTACT,)),
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


def created_object_type(kind: str) -> ObjectType | None:
    """The object type a record's job of ``kind`` creates (``"contact"`` or an activity type),
    or None when the job updates an object instead."""
    if kind == "contact":
        return ObjectType.CONTACT
    try:
        write = WRITES[ActivityType(kind)]
    except ValueError:
        return None
    return write.object_type if write.operation == "create" else None
