"""Every CRM operation on one HubSpot account (portal), over a :class:`HubSpotTransport`.

Single objects: :meth:`~PortalClient.create`, :meth:`~PortalClient.read`,
:meth:`~PortalClient.update`, :meth:`~PortalClient.archive`. Batches (at most 100 inputs, refused
before sending otherwise, settled per input): ``batch_create``, ``batch_upsert``,
``batch_update``, ``batch_read``, ``batch_archive``, and ``batch_associate`` for associations.
For idempotent creates (SPEC §6): ``batch_read`` by ``email`` or by the unique ``simcrm_key``,
``search_by_property`` for the types without a unique key, and ``ensure_simcrm_properties`` to
create the custom properties (``simcrm_key`` unique where HubSpot allows it, in their own group)
before the first write; ``properties``, ``pipelines`` and ``account`` for the checks made when a
simulation starts. A single create of a contact whose email exists counts as success with the
id HubSpot names; inside a batch it is a refused item, read back by the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from engine.crm.account import AccountDetails
from engine.crm.errors import Conflict, NotFound, UnusableProperty, ValidationFailed
from engine.crm.objects import (
    SIMCRM_GROUP,
    SIMCRM_GROUP_LABEL,
    SIMCRM_KEY,
    CrmObject,
    ObjectInput,
    ObjectType,
    PropertySpec,
    UpdateInput,
    UpsertInput,
    association_type_id,
    check_batch,
    check_unique,
    keyed_entry,
    lookup_property,
    property_text,
    simcrm_properties,
    trace_ids,
)
from engine.crm.results import (
    BatchResult,
    ItemResult,
    ReadResult,
    property_of,
    settle,
    settle_associations,
)
from engine.crm.transport import HubSpotTransport, Response, secret_token
from limits import OTHER, SEARCH

OBJECTS = "/crm/v3/objects"


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of a pipeline: its internal id (what objects carry) and its label."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A deal or ticket pipeline (``GET /crm/v3/pipelines/{type}``): id, label, stages."""

    id: str
    label: str
    stages: tuple[Stage, ...]

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Pipeline:
        stages = tuple(
            Stage(str(stage.get("id")), str(stage.get("label") or ""))
            for stage in body.get("stages") or ()
            if isinstance(stage, Mapping)
        )
        return cls(str(body.get("id")), str(body.get("label") or ""), stages)


def check_unique_properties(
    object_type: ObjectType,
    specs: Sequence[PropertySpec],
    existing: Mapping[str, Mapping[str, Any]],
) -> None:
    """Refuse an account whose property that SimCRM makes unique exists without a unique value.

    Raises:
        UnusableProperty: naming the type and the property.
    """
    for spec in specs:
        found = existing.get(spec.name)
        if spec.unique and found is not None and not found.get("hasUniqueValue"):
            raise UnusableProperty(
                f"the account's {object_type.path} property {spec.name!r} exists without a "
                "unique value (hasUniqueValue), so SimCRM could not rule out duplicates: "
                f"delete that property in HubSpot (SimCRM creates it unique) or use another "
                "account",
                object_type=object_type.path,
                name=spec.name,
            )


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search: the total number of hits, this page's objects, the next cursor."""

    total: int
    results: tuple[CrmObject, ...]
    after: str | None


class PortalClient:
    """One account's CRM operations, authenticated with ``token``, over a shared transport.

    Cheap to make: build one per account (or per use) over the process's transport. A client
    made for one simulation names it as ``sender``: its requests then take that simulation's fair
    share of the account's burst window (see :mod:`limits`).
    """

    def __init__(
        self,
        transport: HubSpotTransport,
        portal_id: str | int,
        token: SecretStr | str,
        *,
        sender: str | None = None,
    ) -> None:
        self._transport = transport
        self.portal_id = str(portal_id)
        self._token = secret_token(token)
        self.sender = sender

    def __repr__(self) -> str:
        return f"PortalClient(portal_id={self.portal_id!r}, sender={self.sender!r}, token=***)"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        kind: str = OTHER,
        cost: int = 1,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Response:
        return await self._transport.request(
            self._token,
            self.portal_id,
            method,
            path,
            kind=kind,
            cost=cost,
            json=json,
            params=params,
            sender=self.sender,
        )

    # -- single objects ----------------------------------------------------------------------

    async def create(self, object_type: ObjectType, item: ObjectInput) -> ItemResult:
        """Create one object (201). A contact whose email exists is success with its id
        (``new=False``); any other failure raises its :class:`CrmError`."""
        try:
            answer = await self._send(
                "POST",
                f"{OBJECTS}/{object_type.path}",
                kind=object_type,
                json=item.body(object_type),
            )
        except Conflict as exc:
            if object_type is ObjectType.CONTACT and exc.existing_id:
                return ItemResult(0, id=exc.existing_id, new=False)
            raise
        obj = CrmObject.from_body(answer.body)
        return ItemResult(0, id=obj.id, new=True, object=obj)

    async def read(
        self,
        object_type: ObjectType,
        object_id: str,
        *,
        properties: Iterable[str] = (),
        associations: Iterable[ObjectType] = (),
        id_property: str | None = None,
    ) -> CrmObject | None:
        """One object by id (or by a unique property's value); None when it does not exist."""
        params: dict[str, str] = {}
        if names := ",".join(properties):
            params["properties"] = names
        if linked := ",".join(t.path for t in associations):
            params["associations"] = linked
        if id_property:
            params["idProperty"] = id_property
        try:
            answer = await self._send(
                "GET", f"{OBJECTS}/{object_type.path}/{object_id}", kind=object_type, params=params
            )
        except NotFound:
            return None
        return CrmObject.from_body(answer.body)

    async def update(
        self,
        object_type: ObjectType,
        object_id: str,
        properties: Mapping[str, Any],
        *,
        id_property: str | None = None,
    ) -> CrmObject:
        """Overwrite some properties of one object; raises NotFound when it does not exist."""
        answer = await self._send(
            "PATCH",
            f"{OBJECTS}/{object_type.path}/{object_id}",
            kind=object_type,
            json={"properties": {k: property_text(v) for k, v in properties.items()}},
            params={"idProperty": id_property} if id_property else None,
        )
        return CrmObject.from_body(answer.body)

    async def archive(self, object_type: ObjectType, object_id: str) -> None:
        """Archive one object (204)."""
        await self._send("DELETE", f"{OBJECTS}/{object_type.path}/{object_id}", kind=object_type)

    # -- batches -------------------------------------------------------------------------------

    async def _post_batch(
        self, object_type: ObjectType, action: str, entries: list[dict[str, Any]]
    ) -> Response:
        """One batch call: a request against the window, one bucket unit per input."""
        return await self._send(
            "POST",
            f"{OBJECTS}/{object_type.path}/batch/{action}",
            kind=object_type,
            cost=len(entries),
            json={"inputs": entries},
        )

    async def batch_create(
        self, object_type: ObjectType, inputs: Sequence[ObjectInput]
    ) -> BatchResult:
        """Create up to 100 objects in one call, settled per input.

        Every input carries an objectWriteTraceId, which makes HubSpot answer 207 with per-input
        errors instead of failing the whole batch (research §1.4). Results are matched to inputs
        by key — the contact's email, else the ``simcrm_key`` — so every input must carry it,
        unique within the batch. An input refused (a contact whose email exists, an object whose
        unique key does) is a failed item, whatever HubSpot's message says: read it back by key.
        """
        check_batch("batch/create", len(inputs))
        if not inputs:
            return BatchResult(200, ())
        traces = trace_ids(inputs)
        key = lookup_property(object_type)
        keys = [property_text(item.properties.get(key)) for item in inputs]
        if not all(keys):
            raise ValidationFailed(f"batch/create of {object_type.path}: every input needs {key}")
        check_unique(key, [k.lower() for k in keys])
        entries = [
            {**item.body(object_type), "objectWriteTraceId": trace}
            for item, trace in zip(inputs, traces, strict=True)
        ]
        answer = await self._post_batch(object_type, "create", entries)
        return settle(
            answer.status,
            answer.body,
            keys,
            property_of(key),
            trace_ids=traces,
        )

    async def batch_upsert(
        self, object_type: ObjectType, inputs: Sequence[UpsertInput], *, id_property: str
    ) -> BatchResult:
        """Create or update up to 100 objects found by ``id_property`` (``email`` for contacts,
        ``simcrm_key`` for companies, deals and tickets); each item's ``new`` says which."""
        check_batch("batch/upsert", len(inputs))
        if not inputs:
            return BatchResult(200, ())
        traces = trace_ids(inputs)
        keys = [item.id_value for item in inputs]
        check_unique(id_property, keys)
        entries = [
            keyed_entry(item.id_value, item.properties, trace, id_property)
            for item, trace in zip(inputs, traces, strict=True)
        ]
        answer = await self._post_batch(object_type, "upsert", entries)
        return settle(
            answer.status, answer.body, keys, property_of(id_property), trace_ids=traces, new=None
        )

    async def batch_update(
        self,
        object_type: ObjectType,
        inputs: Sequence[UpdateInput],
        *,
        id_property: str | None = None,
    ) -> BatchResult:
        """Overwrite properties of up to 100 existing objects (by id, or by ``id_property``);
        a missing object is a ``not_found`` item."""
        check_batch("batch/update", len(inputs))
        if not inputs:
            return BatchResult(200, ())
        traces = trace_ids(inputs)
        keys = [item.id for item in inputs]
        check_unique("id", keys)
        entries = [
            keyed_entry(item.id, item.properties, trace, id_property)
            for item, trace in zip(inputs, traces, strict=True)
        ]
        answer = await self._post_batch(object_type, "update", entries)
        return settle(
            answer.status, answer.body, keys, property_of(id_property), trace_ids=traces, new=False
        )

    async def batch_read(
        self,
        object_type: ObjectType,
        ids: Sequence[str],
        *,
        properties: Iterable[str] = (),
        id_property: str | None = None,
    ) -> ReadResult:
        """Read up to 100 objects by id (or by ``id_property``); absent ones are ``missing``."""
        check_batch("batch/read", len(ids))
        if not ids:
            return ReadResult({}, ())
        check_unique("id", ids)
        names = list(properties)
        if id_property and id_property not in names:
            names.append(id_property)
        # propertiesWithHistory is required by HubSpot's schema for this call (empty: none).
        body: dict[str, Any] = {
            "inputs": [{"id": i} for i in ids],
            "properties": names,
            "propertiesWithHistory": [],
        }
        if id_property:
            body["idProperty"] = id_property
        answer = await self._send(
            "POST",
            f"{OBJECTS}/{object_type.path}/batch/read",
            kind=object_type,
            cost=len(ids),
            json=body,
        )
        by_folded = {i.lower(): i for i in ids}
        found: dict[str, CrmObject] = {}
        for result in (answer.body or {}).get("results") or ():
            obj = CrmObject.from_body(result)
            key = obj.properties.get(id_property) if id_property else obj.id
            asked = by_folded.get(str(key).lower())
            if asked is not None:  # HubSpot keeps emails in lower case
                found[asked] = obj
        return ReadResult(found, tuple(i for i in ids if i not in found))

    async def batch_archive(self, object_type: ObjectType, ids: Sequence[str]) -> None:
        """Archive up to 100 objects by id (204; ids already gone are not an error)."""
        check_batch("batch/archive", len(ids))
        if not ids:
            return
        await self._post_batch(object_type, "archive", [{"id": i} for i in ids])

    async def batch_associate(
        self,
        from_type: ObjectType,
        to_type: ObjectType,
        pairs: Sequence[tuple[str, str]],
        *,
        type_id: int | None = None,
    ) -> BatchResult:
        """Associate existing objects (v4 batch create), e.g. upserted contacts to companies."""
        check_batch("associations batch/create", len(pairs))
        if not pairs:
            return BatchResult(200, ())
        spec = {
            "associationCategory": "HUBSPOT_DEFINED",
            "associationTypeId": type_id or association_type_id(from_type, to_type),
        }
        answer = await self._send(
            "POST",
            f"/crm/v4/associations/{from_type.path}/{to_type.path}/batch/create",
            json={
                "inputs": [{"from": {"id": a}, "to": {"id": b}, "types": [spec]} for a, b in pairs]
            },
        )
        return settle_associations(answer.status, answer.body, pairs)

    # -- search, properties ------------------------------------------------------------------

    async def search(
        self,
        object_type: ObjectType,
        filters: Sequence[Mapping[str, Any]],
        *,
        properties: Iterable[str] = (),
        limit: int = 100,
        after: str | None = None,
    ) -> SearchPage:
        """``POST /crm/v3/objects/{type}/search`` with one filter group (all filters ANDed).

        Search has its own limit (a few requests per second) and lags behind writes by a few
        seconds: an object created just now may not be found yet.
        """
        body: dict[str, Any] = {
            "filterGroups": [{"filters": list(filters)}],
            "properties": list(properties),
            "limit": limit,
        }
        if after:
            body["after"] = after
        answer = await self._send(
            "POST", f"{OBJECTS}/{object_type.path}/search", kind=SEARCH, json=body
        )
        page = answer.body or {}
        next_page = (page.get("paging") or {}).get("next") or {}
        return SearchPage(
            total=int(page.get("total", 0)),
            results=tuple(CrmObject.from_body(r) for r in page.get("results") or ()),
            after=next_page.get("after"),
        )

    async def search_by_property(
        self, object_type: ObjectType, name: str, values: Sequence[str]
    ) -> dict[str, list[CrmObject]]:
        """Objects whose ``name`` is one of ``values`` (at most 100), grouped by value.

        How the runtime finds a note, call or task by its ``simcrm_key`` before re-sending a
        create whose outcome is unknown.
        """
        check_batch("search IN filter", len(values))
        found: dict[str, list[CrmObject]] = {value: [] for value in values}
        if not values:
            return found
        after: str | None = None
        while True:
            page = await self.search(
                object_type,
                [{"propertyName": name, "operator": "IN", "values": list(values)}],
                properties=[name],
                after=after,
            )
            for obj in page.results:
                value = obj.properties.get(name)
                if value in found:
                    found[value].append(obj)
            if not page.after:
                return found
            after = page.after

    async def properties(self, object_type: ObjectType) -> dict[str, Mapping[str, Any]]:
        """The account's property definitions of ``object_type``, by name."""
        answer = await self._send("GET", f"/crm/v3/properties/{object_type.path}")
        results = (answer.body or {}).get("results") or ()
        return {str(p.get("name")): p for p in results if isinstance(p, Mapping)}

    async def pipelines(self, object_type: ObjectType) -> list[Pipeline]:
        """The account's pipelines of ``object_type`` (deals, tickets), with their stages."""
        answer = await self._send("GET", f"/crm/v3/pipelines/{object_type.path}")
        results = (answer.body or {}).get("results") or ()
        return [Pipeline.from_body(p) for p in results if isinstance(p, Mapping)]

    async def ensure_group(self, object_type: ObjectType, name: str, label: str) -> bool:
        """Create the property group ``name`` unless the account has it; True when created."""
        path = f"/crm/v3/properties/{object_type.path}/groups"
        answer = await self._send("GET", path)
        existing = {str(g.get("name")) for g in (answer.body or {}).get("results") or ()}
        if name in existing:
            return False
        try:
            await self._send("POST", path, json={"name": name, "label": label, "displayOrder": -1})
        except Conflict:
            return False
        return True

    async def ensure_properties(
        self, object_type: ObjectType, specs: Sequence[PropertySpec]
    ) -> list[str]:
        """Create whichever of ``specs`` the account lacks; returns the names created.

        One read of the type's properties, then the group and every missing property created
        (the properties at once). A create that races another process's and meets a conflict
        counts as done.

        Raises:
            UnusableProperty: a property that must be unique exists without a unique value.
        """
        existing = await self.properties(object_type)
        check_unique_properties(object_type, specs, existing)
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await self.ensure_group(object_type, SIMCRM_GROUP, SIMCRM_GROUP_LABEL)

        async def create(spec: PropertySpec) -> str | None:
            try:
                await self._send(
                    "POST", f"/crm/v3/properties/{object_type.path}", json=spec.body(object_type)
                )
            except Conflict:
                return None
            return spec.name

        # Sent together: the first objects of a run wait for them.
        created = await asyncio.gather(*(create(spec) for spec in missing))
        return [name for name in created if name is not None]

    async def ensure_simcrm_properties(self, object_type: ObjectType) -> list[str]:
        """Make sure SimCRM's properties exist on ``object_type``, in their own group:
        ``simcrm_key`` (unique for companies, deals and tickets), the simulation id, the record
        index and the simulated time.

        Remembered per transport: later calls for the same account and type send nothing.

        Raises:
            UnusableProperty: the account's ``simcrm_key`` should be unique and is not.
        """
        created = await self._transport.once(
            ("simcrm_properties", self.portal_id, object_type.path),
            lambda: self.ensure_properties(object_type, simcrm_properties(object_type)),
        )
        return created or []

    async def account(self) -> AccountDetails:
        """The account's details (``GET /account-info/v3/details``): its time zone sets when
        its daily limit resets, which the transport's limiter is told."""
        answer = await self._send("GET", "/account-info/v3/details")
        details = AccountDetails.from_body(answer.body)
        await self._transport.note_time_zone(details.portal_id, details.time_zone)
        return details

    async def find_by_key(
        self, object_type: ObjectType, keys: Sequence[str]
    ) -> dict[str, list[CrmObject]]:
        """Objects carrying each ``simcrm_key`` (search; lags behind writes)."""
        return await self.search_by_property(object_type, SIMCRM_KEY, keys)
