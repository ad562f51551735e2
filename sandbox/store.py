"""What the sandbox keeps: objects with their associations and receipt times, custom property
definitions, the indexes HubSpot enforces (contact email, unique properties), and duplicates.

A *duplicate* is a live object whose identity another live object of the same type already
has. Identity: ``simcrm_key`` when present; else the simulation id with the record index; else,
for contacts, the email (which the sandbox keeps unique, as HubSpot does).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sandbox import bodies
from sandbox.catalog import (
    BUILTIN_PROPERTIES,
    DEFAULT_GROUPS,
    DEFAULT_PIPELINES,
    Builtin,
    Option,
    Pipeline,
)
from sandbox.hubspot import ObjectType, inverse_type_id

FIRST_ID = 10_000_000_001
# The properties a SimCRM run writes on every object: how the twin tells two objects that stand
# for one planned record apart from two different records, to count duplicates.
AUDIT_KEY = "simcrm_key"
AUDIT_SIMULATION = "simcrm_simulation_id"
AUDIT_RECORD = "simcrm_record_index"
MAX_UNIQUE_PROPERTIES = 10


class Rejected(Exception):
    """A request (or one input of a batch) HubSpot would refuse: status, category, message."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        context: Mapping[str, list[str]] | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = dict(context or {})
        self.errors = list(errors or [])

    def body(self) -> dict[str, Any]:
        return bodies.error(
            self.message, self.category, context=self.context or None, errors=self.errors or None
        )


class UniqueConflict(Rejected):
    """A create or update giving a unique property a value another live object holds."""

    def __init__(self, name: str, value: str, holder: str) -> None:
        message = f"{value} already has that value for {name}"
        super().__init__(
            400,
            "VALIDATION_ERROR",
            bodies.invalid_properties(
                [
                    {
                        "isValid": False,
                        "message": message,
                        "error": "INVALID_UNIQUE_VALUE",
                        "name": name,
                    }
                ]
            ),
            errors=[
                {
                    "message": message,
                    "code": "INVALID_UNIQUE_VALUE",
                    "context": {"propertyName": [name]},
                }
            ],
        )
        self.name = name
        self.value = value
        self.holder = holder


@dataclass(frozen=True, slots=True)
class Link:
    """An association from the object holding it to ``to_type``/``to_id``."""

    to_type: ObjectType
    to_id: str
    type_id: int


@dataclass(slots=True)
class StoredObject:
    id: str
    type: ObjectType
    properties: dict[str, str]
    links: list[Link]
    received_ms: int
    updated_ms: int
    created_at: str  # received_ms and updated_ms as HubSpot writes them
    updated_at: str
    trace_id: str | None = None
    archived: bool = False
    identity: tuple[str, ...] | None = None
    search_lag_ms: int | None = None  # its own lag; None: the portal's lag at search time


@dataclass(frozen=True, slots=True)
class SandboxObject:
    """A read-only copy of a stored object, for tests and the demo."""

    id: str
    type: ObjectType
    properties: Mapping[str, str]
    associations: tuple[Link, ...]
    received_at_ms: int
    updated_at_ms: int
    archived: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.path,
            "properties": dict(self.properties),
            "associations": [
                {"toType": a.to_type.path, "toId": a.to_id, "typeId": a.type_id}
                for a in self.associations
            ],
            "receivedAtMs": self.received_at_ms,
            "updatedAtMs": self.updated_at_ms,
            "archived": self.archived,
        }


@dataclass(frozen=True, slots=True)
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    unique: bool
    created_ms: int
    description: str = ""
    options: tuple[Option, ...] = ()
    hubspot_defined: bool = False
    read_only: bool = False

    def to_json(self) -> dict[str, Any]:
        stamp = bodies.iso(self.created_ms)
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group_name,
            "description": self.description,
            "hasUniqueValue": self.unique,
            "createdAt": stamp,
            "updatedAt": stamp,
            "calculated": False,
            "externalOptions": False,
            "archived": False,
            "displayOrder": -1,
            "formField": False,
            "hidden": False,
            "options": [
                {"label": o.label, "value": o.value, "displayOrder": i, "hidden": False}
                for i, o in enumerate(self.options)
            ],
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
        }

    @classmethod
    def builtin(cls, name: str, spec: Builtin) -> PropertyDef:
        """HubSpot's own property ``name`` as its definition reads."""
        return cls(
            name=name,
            label=name.replace("_", " ").capitalize(),
            type=spec.type,
            field_type=spec.field_type,
            group_name=spec.group,
            unique=False,
            created_ms=0,
            options=spec.options,
            hubspot_defined=True,
            read_only=spec.read_only,
        )


_BUILTIN_DEFS = {
    kind: {name: PropertyDef.builtin(name, spec) for name, spec in table.items()}
    for kind, table in BUILTIN_PROPERTIES.items()
}


def identity_of(object_type: ObjectType, properties: Mapping[str, str]) -> tuple[str, ...] | None:
    if key := properties.get(AUDIT_KEY):
        return ("key", key)
    simulation, index = properties.get(AUDIT_SIMULATION), properties.get(AUDIT_RECORD)
    if simulation and index:
        return ("record", simulation, index)
    if object_type is ObjectType.CONTACT and (email := properties.get("email")):
        return ("email", email.lower())
    return None


@dataclass(slots=True)
class SandboxStore:
    objects: dict[ObjectType, dict[str, StoredObject]] = field(
        default_factory=lambda: {t: {} for t in ObjectType}
    )
    definitions: dict[ObjectType, dict[str, PropertyDef]] = field(
        default_factory=lambda: {t: {} for t in ObjectType}
    )
    emails: dict[str, str] = field(default_factory=dict)
    unique_values: dict[tuple[ObjectType, str, str], str] = field(default_factory=dict)
    identities: Counter[tuple[ObjectType, tuple[str, ...]]] = field(default_factory=Counter)
    duplicates: Counter[ObjectType] = field(default_factory=Counter)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(FIRST_ID))
    groups: dict[ObjectType, dict[str, str]] = field(
        default_factory=lambda: {t: dict(DEFAULT_GROUPS[t]) for t in ObjectType}
    )
    overrides: dict[ObjectType, dict[str, PropertyDef]] = field(
        default_factory=lambda: {t: {} for t in ObjectType}
    )  # HubSpot's own properties as this portal changed them (options of lifecyclestage …)
    pipelines: dict[ObjectType, list[Pipeline]] = field(
        default_factory=lambda: {t: list(DEFAULT_PIPELINES.get(t, ())) for t in ObjectType}
    )

    # -- properties --------------------------------------------------------------------------

    def definition(self, object_type: ObjectType, name: str) -> PropertyDef | None:
        """A property created through the API (HubSpot's own are in :meth:`describe`)."""
        return self.definitions[object_type].get(name)

    def describe(self, object_type: ObjectType, name: str) -> PropertyDef | None:
        """Any property the portal knows, HubSpot's own or created."""
        found = self.overrides[object_type].get(name) or _BUILTIN_DEFS[object_type].get(name)
        return found if found is not None else self.definition(object_type, name)

    def all_properties(self, object_type: ObjectType) -> list[PropertyDef]:
        changed = self.overrides[object_type]
        own = [changed.get(name, spec) for name, spec in _BUILTIN_DEFS[object_type].items()]
        return [*own, *self.definitions[object_type].values()]

    def redefine(self, object_type: ObjectType, spec: PropertyDef) -> PropertyDef:
        """Replace a property's definition (its label, group, options …), HubSpot's or created."""
        if spec.name in _BUILTIN_DEFS[object_type]:
            self.overrides[object_type][spec.name] = spec
        else:
            self.definitions[object_type][spec.name] = spec
        return spec

    def pipeline(self, object_type: ObjectType, pipeline_id: str) -> Pipeline | None:
        return next((p for p in self.pipelines[object_type] if p.id == pipeline_id), None)

    def define(self, object_type: ObjectType, spec: PropertyDef) -> PropertyDef:
        existing = self.definitions[object_type]
        if spec.name in existing or spec.name in BUILTIN_PROPERTIES[object_type]:
            raise Rejected(
                409, "OBJECT_ALREADY_EXISTS", f"Property named '{spec.name}' already exists."
            )
        if spec.unique and sum(p.unique for p in existing.values()) >= MAX_UNIQUE_PROPERTIES:
            raise Rejected(
                400,
                "VALIDATION_ERROR",
                f"An object can have at most {MAX_UNIQUE_PROPERTIES} unique properties",
            )
        existing[spec.name] = spec
        return spec

    def is_unique(self, object_type: ObjectType, name: str) -> bool:
        if object_type is ObjectType.CONTACT and name == "email":
            return True
        found = self.definition(object_type, name)
        return found is not None and found.unique

    # -- objects -----------------------------------------------------------------------------

    def get(
        self, object_type: ObjectType, key: str, id_property: str | None = None
    ) -> StoredObject | None:
        """A live object by id, or by the value of a unique property."""
        if id_property and id_property != "hs_object_id":
            if object_type is ObjectType.CONTACT and id_property == "email":
                found_id = self.emails.get(key.lower())
            else:
                found_id = self.unique_values.get((object_type, id_property, key))
            if found_id is None:
                return None
            key = found_id
        found = self.objects[object_type].get(key)
        return None if found is None or found.archived else found

    def check_unique(
        self, object_type: ObjectType, properties: Mapping[str, str], exclude: str | None = None
    ) -> None:
        """Refuse values another live object holds: a contact's email (409, research §5.2) or
        a unique property (400 with HubSpot's "already has that value", research §6)."""
        if object_type is ObjectType.CONTACT and (email := properties.get("email")):
            holder = self.emails.get(email.lower())
            if holder is not None and holder != exclude:
                raise Rejected(409, "CONFLICT", bodies.contact_exists(holder))
        for name, value in properties.items():
            if value and self.is_unique(object_type, name) and name != "email":
                holder = self.unique_values.get((object_type, name, value))
                if holder is not None and holder != exclude:
                    raise UniqueConflict(name, value, holder)

    def _index(self, obj: StoredObject, properties: Mapping[str, str], on: bool) -> None:
        for name, value in properties.items():
            if not value:
                continue
            if obj.type is ObjectType.CONTACT and name == "email":
                if on:
                    self.emails[value.lower()] = obj.id
                else:
                    self.emails.pop(value.lower(), None)
            elif self.is_unique(obj.type, name):
                if on:
                    self.unique_values[(obj.type, name, value)] = obj.id
                else:
                    self.unique_values.pop((obj.type, name, value), None)

    def _count(self, obj: StoredObject, on: bool) -> None:
        if obj.identity is None:
            return
        slot = (obj.type, obj.identity)
        before = self.identities[slot]
        self.identities[slot] = before + (1 if on else -1)
        if on and before >= 1:
            self.duplicates[obj.type] += 1
        elif not on and before >= 2:
            self.duplicates[obj.type] -= 1

    def new_id(self) -> str:
        return str(next(self.ids))

    def create(
        self,
        object_type: ObjectType,
        properties: dict[str, str],
        links: list[Link],
        now: int,
        trace_id: str | None = None,
        object_id: str | None = None,
        search_lag_ms: int | None = None,
    ) -> StoredObject:
        """Store a new object (checks already done), with the reverse side of its links."""
        stamp = bodies.iso(now)
        obj = StoredObject(
            id=object_id or self.new_id(),
            type=object_type,
            properties=properties,
            links=links,
            received_ms=now,
            updated_ms=now,
            created_at=stamp,
            updated_at=stamp,
            trace_id=trace_id,
            identity=identity_of(object_type, properties),
            search_lag_ms=search_lag_ms,
        )
        self.objects[object_type][obj.id] = obj
        self._index(obj, properties, True)
        self._count(obj, True)
        for link in links:
            self.link(obj, link)
        return obj

    def link(self, obj: StoredObject, link: Link, *, both: bool = True) -> None:
        if link not in obj.links:
            obj.links.append(link)
        target = self.objects[link.to_type].get(link.to_id)
        if both and target is not None:
            back = Link(obj.type, obj.id, inverse_type_id(obj.type, link.to_type, link.type_id))
            if back not in target.links:
                target.links.append(back)

    def update(self, obj: StoredObject, properties: Mapping[str, str], now: int) -> None:
        changed = {k: obj.properties[k] for k in properties if k in obj.properties}
        self._index(obj, changed, False)
        self._count(obj, False)
        obj.properties.update(properties)
        obj.updated_ms = now
        obj.updated_at = bodies.iso(now)
        obj.identity = identity_of(obj.type, obj.properties)
        self._index(obj, obj.properties, True)
        self._count(obj, True)

    def archive(self, obj: StoredObject, now: int) -> None:
        if obj.archived:
            return
        self._index(obj, obj.properties, False)
        self._count(obj, False)
        obj.archived = True
        obj.updated_ms = now
        obj.updated_at = bodies.iso(now)

    def discard(self, obj: StoredObject) -> None:
        """Remove an object as if it had never been created (a batch that failed as a whole)."""
        self.archive(obj, obj.updated_ms)
        self.objects[obj.type].pop(obj.id, None)
        for link in obj.links:
            target = self.objects[link.to_type].get(link.to_id)
            if target is not None:
                target.links = [back for back in target.links if back.to_id != obj.id]

    def live(self, object_type: ObjectType) -> list[StoredObject]:
        return [obj for obj in self.objects[object_type].values() if not obj.archived]

    def snapshot(self, object_type: ObjectType) -> tuple[SandboxObject, ...]:
        return tuple(
            SandboxObject(
                id=obj.id,
                type=obj.type,
                properties=MappingProxyType(dict(obj.properties)),
                associations=tuple(obj.links),
                received_at_ms=obj.received_ms,
                updated_at_ms=obj.updated_ms,
                archived=obj.archived,
            )
            for obj in self.objects[object_type].values()
        )
