"""The CRM operations on one HubSpot account (portal), through :class:`HubSpotClient`.

Single calls: :meth:`~PortalClient.create`, :meth:`~PortalClient.read`,
:meth:`~PortalClient.update`, :meth:`~PortalClient.archive`. Batch calls (at most 100 inputs,
refused before sending otherwise): ``batch_create``, ``batch_upsert``, ``batch_update``,
``batch_read``, ``batch_archive``, ``batch_associate``. For idempotent creates (SPEC §6):
``batch_upsert`` on ``email`` or on the unique ``simcrm_key``, ``search_by_property`` for the
types without a unique key, and ``ensure_simcrm_properties`` to create the custom properties
(``simcrm_key`` unique where HubSpot allows it) before the first write. A duplicate contact
email — single or inside a batch — counts as success with the existing id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.crm.batches import OBJECTS, PortalBatches, check_batch
from engine.crm.errors import Conflict, NotFound
from engine.crm.objects import (
    SIMCRM_KEY,
    CrmObject,
    ObjectInput,
    ObjectType,
    PropertySpec,
    property_text,
    simcrm_properties,
)
from engine.crm.results import ItemResult
from limits import SEARCH


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search: the total number of hits, this page's objects, the next cursor."""

    total: int
    results: tuple[CrmObject, ...]
    after: str | None


class PortalClient(PortalBatches):
    """One account's CRM operations. Cheap to make: :meth:`HubSpotClient.portal` builds one."""

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

    async def ensure_properties(
        self, object_type: ObjectType, specs: Sequence[PropertySpec]
    ) -> list[str]:
        """Create whichever of ``specs`` the account lacks; returns the names created.

        One read of the type's properties, then one create per missing property. A create that
        races another process's and meets a conflict counts as done.
        """
        answer = await self._send("GET", f"/crm/v3/properties/{object_type.path}")
        existing = {str(p.get("name")) for p in (answer.body or {}).get("results") or ()}
        created: list[str] = []
        for spec in specs:
            if spec.name in existing:
                continue
            try:
                await self._send(
                    "POST", f"/crm/v3/properties/{object_type.path}", json=spec.body(object_type)
                )
            except Conflict:
                continue
            created.append(spec.name)
        return created

    async def ensure_simcrm_properties(self, object_type: ObjectType) -> list[str]:
        """Make sure ``simcrm_key`` (unique for companies, deals and tickets), the simulation
        id, the record index and the simulated time exist as properties of ``object_type``.

        Remembered per client: later calls for the same account and type send nothing.
        """
        marker = (self.portal_id, object_type.path)
        if marker in self._client.known_properties:
            return []
        async with self._client.properties_lock(marker):
            if marker in self._client.known_properties:  # another task made them meanwhile
                return []
            created = await self.ensure_properties(object_type, simcrm_properties(object_type))
            self._client.known_properties.add(marker)
        return created

    async def find_by_key(
        self, object_type: ObjectType, keys: Sequence[str]
    ) -> dict[str, list[CrmObject]]:
        """Objects carrying each ``simcrm_key`` (search; lags behind writes)."""
        return await self.search_by_property(object_type, SIMCRM_KEY, keys)
