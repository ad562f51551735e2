"""HubSpot's CRM object types, association type ids, and the payloads the client sends and reads.

Facts from research/hubspot-api.md: paths and objectTypeIds (§1.1), association type ids
(§3.1, direction *from → to*), property values as strings (§1.3), ``hs_timestamp`` required on
notes, calls and tasks (§2). A batch call takes at most :data:`MAX_BATCH` inputs, each with an
``objectWriteTraceId`` and an id unique within the call; both are checked before sending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from engine.crm.errors import BatchTooLarge, ValidationFailed
from limits.config import MAX_BATCH  # the limiter charges a batch call by the same cap

PropertyValue = str | int | float | bool | None


class ObjectType(StrEnum):
    """A CRM object type; the value is the limiter's request kind."""

    CONTACT = "contact"
    COMPANY = "company"
    DEAL = "deal"
    TICKET = "ticket"
    NOTE = "note"
    CALL = "call"
    TASK = "task"

    @property
    def path(self) -> str:
        """The name in ``/crm/v3/objects/{path}``."""
        return _PATHS[self]

    @property
    def type_id(self) -> str:
        """HubSpot's objectTypeId (``0-1`` for contacts …)."""
        return _TYPE_IDS[self]

    @property
    def is_engagement(self) -> bool:
        """Notes, calls and tasks: they need ``hs_timestamp``."""
        return self in (ObjectType.NOTE, ObjectType.CALL, ObjectType.TASK)

    @classmethod
    def from_path(cls, path: str) -> ObjectType:
        """``contacts`` → CONTACT; also accepts the singular name and the objectTypeId."""
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

_C, _CO, _D, _T = ObjectType.CONTACT, ObjectType.COMPANY, ObjectType.DEAL, ObjectType.TICKET
#: HUBSPOT_DEFINED default (unlabelled) association type ids, from → to.
ASSOCIATION_TYPE_IDS: Mapping[tuple[ObjectType, ObjectType], int] = MappingProxyType(
    {
        (_C, _CO): 279, (_CO, _C): 280,
        (_D, _C): 3, (_C, _D): 4,
        (_D, _CO): 341, (_CO, _D): 342,
        (_T, _C): 16, (_C, _T): 15,
        (_T, _CO): 339, (_CO, _T): 340,
        (_T, _D): 28, (_D, _T): 27,
        (ObjectType.NOTE, _C): 202, (ObjectType.NOTE, _CO): 190,
        (ObjectType.NOTE, _D): 214, (ObjectType.NOTE, _T): 228,
        (ObjectType.CALL, _C): 194, (ObjectType.CALL, _CO): 182,
        (ObjectType.CALL, _D): 206, (ObjectType.CALL, _T): 220,
        (ObjectType.TASK, _C): 204, (ObjectType.TASK, _CO): 192,
        (ObjectType.TASK, _D): 216, (ObjectType.TASK, _T): 230,
    }
)  # fmt: skip

# Properties SimCRM writes on every object it creates (created as custom properties on first
# use, see PortalClient.ensure_simcrm_properties).
SIMCRM_KEY = "simcrm_key"
SIMCRM_SIMULATION_ID = "simcrm_simulation_id"
SIMCRM_RECORD_INDEX = "simcrm_record_index"
SIMCRM_SIMULATED_AT = "simcrm_simulated_at"
#: Types whose ``simcrm_key`` is a unique property (``hasUniqueValue``): HubSpot refuses a second
#: object with the same key, and an object is read by its key at once (no search lag). Notes,
#: calls and tasks cannot have unique properties; contacts have their unique ``email``.
UNIQUE_KEY_TYPES = frozenset({ObjectType.COMPANY, ObjectType.DEAL, ObjectType.TICKET})
#: The property group SimCRM's own properties are created in, on every type.
SIMCRM_GROUP = "simcrm"
SIMCRM_GROUP_LABEL = "SimCRM"


def key_property(object_type: ObjectType) -> str | None:
    """The unique property an object of ``object_type`` is found by without search (``email``
    for contacts, ``simcrm_key`` where it is unique), or None: found by searching ``simcrm_key``.
    """
    if object_type is ObjectType.CONTACT:
        return "email"
    return SIMCRM_KEY if object_type in UNIQUE_KEY_TYPES else None


def lookup_property(object_type: ObjectType) -> str:
    """The property whose value identifies an object SimCRM created: its unique key, else
    ``simcrm_key``."""
    return key_property(object_type) or SIMCRM_KEY


def association_type_id(from_type: ObjectType, to_type: ObjectType) -> int:
    """The default association type id from ``from_type`` to ``to_type``."""
    try:
        return ASSOCIATION_TYPE_IDS[(from_type, to_type)]
    except KeyError:
        raise ValueError(f"no default association from {from_type} to {to_type}") from None


def hs_timestamp(epoch_ms: int) -> str:
    """An instant as HubSpot's datetime properties take it: ISO 8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def property_text(value: PropertyValue) -> str:
    """A property value as the string HubSpot stores (booleans as ``true``/``false``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _texts(properties: Mapping[str, PropertyValue]) -> dict[str, str]:
    return {name: property_text(value) for name, value in properties.items()}


@dataclass(frozen=True, slots=True)
class Association:
    """An inline association of a new object to an existing one (default type id unless given)."""

    to_type: ObjectType
    to_id: str
    type_id: int | None = None

    def body(self, from_type: ObjectType) -> dict[str, Any]:
        type_id = self.type_id or association_type_id(from_type, self.to_type)
        return {
            "to": {"id": self.to_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }


@dataclass(frozen=True, slots=True)
class ObjectInput:
    """One object to create: its properties and inline associations.

    ``trace_id`` becomes the input's ``objectWriteTraceId`` in batch calls (the client fills in
    the input's position when it is empty); it must be unique within a batch.
    """

    properties: Mapping[str, PropertyValue]
    associations: Sequence[Association] = ()
    trace_id: str = ""

    def body(self, object_type: ObjectType) -> dict[str, Any]:
        body: dict[str, Any] = {"properties": _texts(self.properties)}
        if self.associations:
            body["associations"] = [a.body(object_type) for a in self.associations]
        return body


@dataclass(frozen=True, slots=True)
class UpsertInput:
    """One object to create or update, found by ``id_value`` of the call's unique property."""

    id_value: str
    properties: Mapping[str, PropertyValue]
    trace_id: str = ""


@dataclass(frozen=True, slots=True)
class UpdateInput:
    """New property values for one existing object, by id (or by a unique property's value)."""

    id: str
    properties: Mapping[str, PropertyValue]
    trace_id: str = ""


def check_batch(name: str, count: int) -> None:
    """Refuse more than :data:`MAX_BATCH` inputs before anything is sent."""
    if count > MAX_BATCH:
        raise BatchTooLarge(
            f"{name} takes at most {MAX_BATCH} inputs per call (got {count}); split the batch"
        )


def check_unique(name: str, values: Sequence[str]) -> None:
    """Refuse a batch naming one id (or unique value) twice: HubSpot would fail it whole."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValidationFailed(f"{name}: the value {value!r} appears twice in one batch")
        seen.add(value)


def trace_ids(inputs: Sequence[ObjectInput | UpsertInput | UpdateInput]) -> list[str]:
    """Each input's objectWriteTraceId: its own, else its position; unique within the batch."""
    ids = [item.trace_id or str(index) for index, item in enumerate(inputs)]
    check_unique("objectWriteTraceId", ids)
    return ids


def keyed_entry(
    key: str, properties: Mapping[str, PropertyValue], trace: str, id_property: str | None
) -> dict[str, Any]:
    """One input of a batch update or upsert: the object's id (or unique value) and properties."""
    entry: dict[str, Any] = {
        "id": key,
        "objectWriteTraceId": trace,
        "properties": _texts(properties),
    }
    if id_property:
        entry["idProperty"] = id_property
    return entry


@dataclass(frozen=True, slots=True)
class CrmObject:
    """An object as HubSpot returned it (``SimplePublicObject``)."""

    id: str
    properties: Mapping[str, str | None] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    archived: bool = False
    associations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CrmObject:
        associations: dict[str, tuple[str, ...]] = {}
        for name, collection in (body.get("associations") or {}).items():
            results = collection.get("results", []) if isinstance(collection, Mapping) else []
            associations[name] = tuple(str(item.get("id")) for item in results)
        return cls(
            id=str(body["id"]),
            properties=dict(body.get("properties") or {}),
            created_at=body.get("createdAt"),
            updated_at=body.get("updatedAt"),
            archived=bool(body.get("archived", False)),
            associations=associations,
        )


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """A custom property to create (``POST /crm/v3/properties/{type}``)."""

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"
    unique: bool = False
    description: str = ""

    def body(self, object_type: ObjectType) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": SIMCRM_GROUP,
            "hasUniqueValue": self.unique,
            "description": self.description,
        }


def simcrm_properties(object_type: ObjectType) -> tuple[PropertySpec, ...]:
    """The custom properties SimCRM writes on objects of ``object_type``."""
    return (
        PropertySpec(
            SIMCRM_KEY,
            "SimCRM key",
            unique=object_type in UNIQUE_KEY_TYPES,
            description="Identifies the simulated record or activity this object stands for.",
        ),
        PropertySpec(SIMCRM_SIMULATION_ID, "SimCRM simulation", description="Simulation id."),
        PropertySpec(
            SIMCRM_RECORD_INDEX,
            "SimCRM record index",
            type="number",
            field_type="number",
            description="Index of the simulated record.",
        ),
        PropertySpec(
            SIMCRM_SIMULATED_AT,
            "SimCRM simulated time",
            type="datetime",
            field_type="date",
            description="When this object happened in simulated time.",
        ),
    )
