"""Batch calls on one account: at most 100 inputs each, refused before sending otherwise, and
settled per input (see :mod:`engine.crm.results`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from engine.crm.classify import item_error
from engine.crm.errors import BatchTooLarge, ErrorCategory, ValidationFailed
from engine.crm.objects import (
    CrmObject,
    ObjectInput,
    ObjectType,
    UpdateInput,
    UpsertInput,
    association_type_id,
    property_text,
)
from engine.crm.results import BatchResult, ItemResult, settle
from engine.crm.transport import Response
from limits import OTHER

if TYPE_CHECKING:
    from engine.crm.transport import HubSpotClient

MAX_BATCH = 100
OBJECTS = "/crm/v3/objects"


@dataclass(frozen=True, slots=True)
class ReadResult:
    """A batch read: objects found, keyed by the id (or unique value) asked for; ids missing."""

    found: Mapping[str, CrmObject]
    missing: tuple[str, ...]


def check_batch(name: str, count: int) -> None:
    """Refuse more than 100 inputs before anything is sent."""
    if count > MAX_BATCH:
        raise BatchTooLarge(
            f"{name} takes at most {MAX_BATCH} inputs per call (got {count}); split the batch"
        )


def _unique(name: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValidationFailed(f"{name}: the value {value!r} appears twice in one batch")
        seen.add(value)


def _trace_ids(inputs: Sequence[Any]) -> list[str]:
    ids = [item.trace_id or str(index) for index, item in enumerate(inputs)]
    _unique("objectWriteTraceId", ids)
    return ids


def _settle_associations(answer: Response, pairs: Sequence[tuple[str, str]]) -> BatchResult:
    """Each pair succeeded when a result links it; otherwise it failed with the batch's
    error naming one of its ids (or the first error)."""
    body = answer.body or {}
    linked = {
        (str(r.get("fromObjectId")), str(r.get("toObjectId"))) for r in body.get("results") or ()
    }
    errors = [item_error(e) for e in body.get("errors") or ()]
    items = []
    for index, (a, b) in enumerate(pairs):
        if (a, b) in linked:
            items.append(ItemResult(index, id=a, new=True))
            continue
        error = next((e for e in errors if a in e.ids or b in e.ids), errors[0] if errors else None)
        items.append(
            ItemResult(
                index,
                category=error.category if error else ErrorCategory.UNKNOWN,
                message=error.message if error else "HubSpot returned no result for this pair",
                retryable=error.retryable if error else True,
            )
        )
    return BatchResult(answer.status, tuple(items))


def _keyed_entry(
    key: str, properties: Mapping[str, Any], trace: str, id_property: str | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": key,
        "objectWriteTraceId": trace,
        "properties": {k: property_text(v) for k, v in properties.items()},
    }
    if id_property:
        entry["idProperty"] = id_property
    return entry


def _property_of(name: str) -> Callable[[Mapping[str, Any]], str | None]:
    return lambda result: (result.get("properties") or {}).get(name)


class PortalBatches:
    """One account bound to a client and a token, and its batch calls.

    :class:`~engine.crm.portal.PortalClient` adds the single-object calls, search and properties.
    """

    def __init__(self, client: HubSpotClient, portal_id: str, token: SecretStr) -> None:
        self._client = client
        self.portal_id = portal_id
        self._token = token

    def __repr__(self) -> str:
        return f"{type(self).__name__}(portal_id={self.portal_id!r}, token=***)"

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
        return await self._client.request(
            self._token,
            self.portal_id,
            method,
            path,
            kind=kind,
            cost=cost,
            json=json,
            params=params,
        )

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
        errors instead of failing the whole batch (research §1.4). For contacts, an input whose
        email exists is settled as success with the existing id.
        """
        check_batch("batch/create", len(inputs))
        if not inputs:
            return BatchResult(200, ())
        traces = _trace_ids(inputs)
        entries = [
            {**item.body(object_type), "objectWriteTraceId": trace}
            for item, trace in zip(inputs, traces, strict=True)
        ]
        answer = await self._post_batch(object_type, "create", entries)
        return settle(
            answer.status,
            answer.body,
            traces,
            duplicate_is_success=object_type is ObjectType.CONTACT,
        )

    async def batch_upsert(
        self, object_type: ObjectType, inputs: Sequence[UpsertInput], *, id_property: str
    ) -> BatchResult:
        """Create or update up to 100 objects found by ``id_property`` (``email`` for contacts,
        ``simcrm_key`` for companies, deals and tickets); each item's ``new`` says which."""
        check_batch("batch/upsert", len(inputs))
        if not inputs:
            return BatchResult(200, ())
        traces = _trace_ids(inputs)
        keys = [item.id_value for item in inputs]
        _unique(id_property, keys)
        entries = [
            _keyed_entry(item.id_value, item.properties, trace, id_property)
            for item, trace in zip(inputs, traces, strict=True)
        ]
        answer = await self._post_batch(object_type, "upsert", entries)
        return settle(
            answer.status,
            answer.body,
            traces,
            keys=keys,
            key_of=_property_of(id_property),
            new=None,
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
        traces = _trace_ids(inputs)
        keys = [item.id for item in inputs]
        _unique("id", keys)
        entries = [
            _keyed_entry(item.id, item.properties, trace, id_property)
            for item, trace in zip(inputs, traces, strict=True)
        ]
        answer = await self._post_batch(object_type, "update", entries)
        key_of = _property_of(id_property) if id_property else lambda result: str(result.get("id"))
        return settle(answer.status, answer.body, traces, keys=keys, key_of=key_of, new=False)

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
        _unique("id", ids)
        names = list(properties)
        if id_property and id_property not in names:
            names.append(id_property)
        body: dict[str, Any] = {"inputs": [{"id": i} for i in ids], "properties": names}
        if id_property:
            body["idProperty"] = id_property
        answer = await self._send(
            "POST",
            f"{OBJECTS}/{object_type.path}/batch/read",
            kind=object_type,
            cost=len(ids),
            json=body,
        )
        found: dict[str, CrmObject] = {}
        for result in answer.body.get("results") or ():
            obj = CrmObject.from_body(result)
            key = obj.properties.get(id_property) if id_property else obj.id
            found[str(key)] = obj
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
        return _settle_associations(answer, pairs)
