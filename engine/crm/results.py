"""Per-item results of CRM batch calls, and how a batch response is settled into them.

A batch call answers 200/201 when every input succeeded and 207 (multi-status) when some failed;
each input is matched to its result by the key it was sent with (the object id, the email, the
``simcrm_key``), never by order or by echoed trace id (:func:`settle`); a refused input stays a
failure whatever its error says (the runtime reads it back by its key). An association pair
succeeded when a result links it (:func:`settle_associations`); a batch read lists what it found
and what is missing (:class:`ReadResult`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.crm.classify import ItemError, item_error
from engine.crm.errors import ErrorCategory
from engine.crm.objects import CrmObject


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The fate of one input of a write, in input order (``index``).

    Success: ``id`` (and ``object`` as HubSpot returned it when it did), ``new`` False when the
    object already existed (an upsert that updated, or a create answered by a duplicate-email
    conflict). Failure: ``category``, ``message`` and whether sending it again can succeed;
    ``maybe_applied`` when HubSpot said nothing about the input, so it may exist.
    """

    index: int
    id: str | None = None
    new: bool | None = None
    object: CrmObject | None = None
    category: ErrorCategory | None = None
    message: str | None = None
    retryable: bool = False
    maybe_applied: bool = False

    @property
    def ok(self) -> bool:
        return self.category is None


@dataclass(frozen=True, slots=True)
class ReadResult:
    """A batch read: objects found, keyed by the id (or unique value) asked for; ids missing."""

    found: Mapping[str, CrmObject]
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Every input's :class:`ItemResult`, in input order, and the HTTP status of the call."""

    status: int
    items: tuple[ItemResult, ...]

    @property
    def succeeded(self) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if item.ok)

    @property
    def failed(self) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if not item.ok)


def _success(index: int, body: Mapping[str, Any], *, new: bool | None) -> ItemResult:
    obj = CrmObject.from_body(body)
    flag = body.get("new")
    return ItemResult(index, id=obj.id, new=flag if isinstance(flag, bool) else new, object=obj)


def _failure(index: int, error: ItemError) -> ItemResult:
    return ItemResult(
        index, category=error.category, message=error.message, retryable=error.retryable
    )


def _fold(value: str | None) -> str:
    # HubSpot stores emails in lower case; keys SimCRM writes are lower case already.
    return (value or "").strip().lower()


def settle(
    status: int,
    body: Mapping[str, Any] | None,
    keys: Sequence[str],
    key_of: Callable[[Mapping[str, Any]], str | None],
    *,
    trace_ids: Sequence[str] = (),
    new: bool | None = True,
) -> BatchResult:
    """Match a batch response to its inputs.

    A success belongs to the input whose key (``keys[i]``: the id, the email, the
    ``simcrm_key`` it was sent with) equals ``key_of(result)``, compared case-insensitively —
    never to an input by the result's position or by its echoed trace id, since HubSpot may
    return results in any order and need not echo trace ids. An error names its input through
    the key values in its context's ``ids`` or, failing that, the ``objectWriteTraceId`` the input
    was sent with; that only chooses which refusal an input reports, never that it succeeded.

    An input with no result is failed with its own error, else with the batch's first unmatched
    error (HubSpot refused it, without saying which error was its own). An input with neither a
    result nor any error left to explain it is unanswered: ``maybe_applied``.

    Args:
        keys: each input's key, in input order.
        key_of: a result's key (see :func:`property_of`).
        trace_ids: each input's objectWriteTraceId, in input order.
        new: the ``new`` flag of a success when the result carries none (True for creates).
    """
    body = body or {}
    slots: list[ItemResult | None] = [None] * len(keys)
    by_key = {_fold(key): i for i, key in enumerate(keys) if key}
    by_trace = {trace: i for i, trace in enumerate(trace_ids)}
    for result in body.get("results") or ():
        index = by_key.get(_fold(key_of(result)))
        if index is not None and slots[index] is None:
            slots[index] = _success(index, result, new=new)
    unmatched_errors: list[ItemError] = []
    for raw in body.get("errors") or ():
        error = item_error(raw)
        indexes = [by_key[_fold(k)] for k in error.ids if _fold(k) in by_key]
        if not indexes:
            indexes = [by_trace[t] for t in error.trace_ids if t in by_trace]
        if not indexes:
            unmatched_errors.append(error)
        for index in indexes:
            if slots[index] is None:
                slots[index] = _failure(index, error)
    items: list[ItemResult] = []
    for index, slot in enumerate(slots):
        if slot is None and unmatched_errors:
            slot = _failure(index, unmatched_errors[0])
        elif slot is None:
            slot = ItemResult(
                index,
                category=ErrorCategory.UNKNOWN,
                message="HubSpot returned no result for this input",
                retryable=True,
                maybe_applied=True,
            )
        items.append(slot)
    return BatchResult(status=status, items=tuple(items))


def property_of(name: str | None) -> Callable[[Mapping[str, Any]], str | None]:
    """The ``key_of`` for :func:`settle` matching results by their property ``name`` (by their
    id when ``name`` is None)."""
    if name is None:
        return lambda result: str(result.get("id") or "")
    return lambda result: (result.get("properties") or {}).get(name)


def settle_associations(
    status: int, body: Mapping[str, Any] | None, pairs: Sequence[tuple[str, str]]
) -> BatchResult:
    """Each pair succeeded when a result links it; otherwise it failed with the batch's
    error naming one of its ids (or the first error)."""
    body = body or {}
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
    return BatchResult(status, tuple(items))
