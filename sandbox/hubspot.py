"""The twin's own tables of HubSpot facts: object types, their paths and objectTypeIds, and the
HUBSPOT_DEFINED association types between them.

Written from HubSpot's documentation (CRM objects guides, the associations v4 guide's table of
default type ids), never from SimCRM's client: a twin that shares the client's tables would agree
with the client's mistakes by construction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ObjectType(StrEnum):
    """A CRM object type the twin serves; the value is the singular name."""

    CONTACT = "contact"
    COMPANY = "company"
    DEAL = "deal"
    TICKET = "ticket"
    NOTE = "note"
    CALL = "call"
    TASK = "task"

    @property
    def path(self) -> str:
        """The plural in ``/crm/v3/objects/{path}``."""
        return _PATHS[self]

    @property
    def type_id(self) -> str:
        """HubSpot's objectTypeId (``0-1`` for contacts …)."""
        return _TYPE_IDS[self]

    @property
    def is_engagement(self) -> bool:
        """Notes, calls and tasks: HubSpot requires ``hs_timestamp`` on them."""
        return self in (ObjectType.NOTE, ObjectType.CALL, ObjectType.TASK)

    @classmethod
    def from_path(cls, path: str) -> ObjectType:
        """The type a URL segment names: plural, singular or objectTypeId."""
        for member in cls:
            if path in (member.path, member.value, member.type_id):
                return member
        raise ValueError(f"unknown CRM object type {path!r}")


_PATHS = {
    ObjectType.CONTACT: "contacts",
    ObjectType.COMPANY: "companies",
    ObjectType.DEAL: "deals",
    ObjectType.TICKET: "tickets",
    ObjectType.NOTE: "notes",
    ObjectType.CALL: "calls",
    ObjectType.TASK: "tasks",
}
_TYPE_IDS = {
    ObjectType.CONTACT: "0-1",
    ObjectType.COMPANY: "0-2",
    ObjectType.DEAL: "0-3",
    ObjectType.TICKET: "0-5",
    ObjectType.TASK: "0-27",
    ObjectType.NOTE: "0-46",
    ObjectType.CALL: "0-48",
}


Pair = tuple[ObjectType, ObjectType]


def _pairs(*rows: tuple[ObjectType, ObjectType, int, int]) -> dict[Pair, int]:
    """Each row is one association and its inverse: ``(a, b, a→b id, b→a id)``."""
    table: dict[Pair, int] = {}
    for a, b, forward, backward in rows:
        table[(a, b)] = forward
        table[(b, a)] = backward
    return table


_CT, _CO, _DE, _TI = ObjectType.CONTACT, ObjectType.COMPANY, ObjectType.DEAL, ObjectType.TICKET
_NO, _CA, _TA = ObjectType.NOTE, ObjectType.CALL, ObjectType.TASK

#: The unlabelled default association type per ordered pair (from, to).
DEFAULT_ASSOCIATIONS: Mapping[Pair, int] = MappingProxyType(
    _pairs(
        (_CT, _CO, 279, 280),
        (_DE, _CT, 3, 4),
        (_DE, _CO, 341, 342),
        (_TI, _CT, 16, 15),
        (_TI, _CO, 339, 340),
        (_TI, _DE, 28, 27),
        (_NO, _CT, 202, 201),
        (_NO, _CO, 190, 189),
        (_NO, _DE, 214, 213),
        (_NO, _TI, 228, 227),
        (_CA, _CT, 194, 193),
        (_CA, _CO, 182, 181),
        (_CA, _DE, 206, 205),
        (_CA, _TI, 220, 219),
        (_TA, _CT, 204, 203),
        (_TA, _CO, 192, 191),
        (_TA, _DE, 216, 215),
        (_TA, _TI, 230, 229),
    )
)

#: The "Primary" labelled association types (a record's primary company), per ordered pair.
PRIMARY_ASSOCIATIONS: Mapping[Pair, int] = MappingProxyType(
    _pairs((_CT, _CO, 1, 2), (_DE, _CO, 5, 6), (_TI, _CO, 26, 25))
)


def association_target(from_type: ObjectType, type_id: int) -> ObjectType | None:
    """The object type a HUBSPOT_DEFINED association type id leads to from ``from_type``."""
    for table in (DEFAULT_ASSOCIATIONS, PRIMARY_ASSOCIATIONS):
        for (source, target), known in table.items():
            if source is from_type and known == type_id:
                return target
    return None


def inverse_type_id(from_type: ObjectType, to_type: ObjectType, type_id: int) -> int:
    """The type id of the same association seen from the other side."""
    for table in (DEFAULT_ASSOCIATIONS, PRIMARY_ASSOCIATIONS):
        if table.get((from_type, to_type)) == type_id:
            return table[(to_type, from_type)]
    return type_id


def wall_clock_ms() -> int:
    """The wall clock in epoch milliseconds: the twin's default clock."""
    return time.time_ns() // 1_000_000
