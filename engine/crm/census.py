"""Counting one simulation's objects in a CRM account by their ``simcrm_key``.

A census lists every live object of one type whose ``simcrm_simulation_id`` is the simulation's,
through HubSpot's search, and groups them by ``simcrm_key``: one object per key is what a run
promises; more are duplicates. Search answers at most 200 objects a page and 10,000 a query
(research hubspot-api.md §7), so a query that matches more is split by ``simcrm_record_index``
into halves until each fits. Search lags behind writes: an object created in the last minute may
not be counted yet (:func:`read_present` settles such doubts by id, which does not lag).

Searches and reads change nothing, so each is sent again after a 429, a refusal by the limiter,
a 5xx or a lost answer, after the wait HubSpot (or the limiter) names — or a growing pause — up
to :data:`ATTEMPTS` times in all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from core.clock import Clock, SystemClock
from engine.crm.errors import CrmError, Throttled
from engine.crm.objects import (
    SIMCRM_KEY,
    SIMCRM_RECORD_INDEX,
    SIMCRM_SIMULATION_ID,
    CrmObject,
    ObjectType,
)
from engine.crm.portal import PortalClient
from limits.config import MAX_BATCH

T = TypeVar("T")
SEARCH_PAGE = 200
SEARCH_CAP = 10_000
ATTEMPTS = 8
FIRST_PAUSE_MS = 500
MAX_PAUSE_MS = 30_000


@dataclass(frozen=True, slots=True)
class Census:
    """The live objects of one type carrying each ``simcrm_key`` of a simulation, oldest first."""

    object_type: ObjectType
    by_key: Mapping[str, tuple[CrmObject, ...]]

    @property
    def objects(self) -> int:
        return sum(len(found) for found in self.by_key.values())

    @property
    def duplicates(self) -> int:
        """Objects beyond the first for each key."""
        return sum(len(found) - 1 for found in self.by_key.values() if found)


def oldest_first(objects: Sequence[CrmObject]) -> tuple[CrmObject, ...]:
    """``objects`` by creation time, then by id (HubSpot's ids grow with time)."""
    return tuple(sorted(objects, key=lambda o: (o.created_at or "", len(o.id), o.id)))


async def patiently(call: Callable[[], Awaitable[T]], clock: Clock) -> T:
    """``call()``, sent again after a refusal that can pass (429, limiter, 5xx, lost answer).

    Only for calls that change nothing. Raises the last error after :data:`ATTEMPTS` tries, and
    at once any error that sending again cannot fix (auth, validation …).
    """
    pause_ms = FIRST_PAUSE_MS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except Throttled as exc:
            wait_ms = max(exc.wait_ms, 1)
            if attempt == ATTEMPTS:
                raise
        except CrmError as exc:
            if not exc.retryable or attempt == ATTEMPTS:
                raise
            wait_ms = exc.retry_after_ms or pause_ms
            pause_ms = min(pause_ms * 2, MAX_PAUSE_MS)
        await clock.sleep_ms(wait_ms)
    raise AssertionError("unreachable")  # the loop returns or raises


class CensusTaker:
    """Counts a simulation's objects in one account; ``clock`` times the pauses between tries."""

    def __init__(self, portal: PortalClient, *, clock: Clock | None = None) -> None:
        self._portal = portal
        self._clock: Clock = clock or SystemClock()

    async def count(self, object_type: ObjectType, sim_id: int, records: int) -> Census:
        """Every live object of ``object_type`` from simulation ``sim_id`` (with ``records``
        records), grouped by ``simcrm_key``."""
        found: dict[str, CrmObject] = {}
        await self._collect(object_type, sim_id, None, found, records=max(records, 1))
        grouped: dict[str, list[CrmObject]] = {}
        for obj in found.values():
            key = obj.properties.get(SIMCRM_KEY)
            if key and not obj.archived:
                grouped.setdefault(key, []).append(obj)
        by_key = {key: oldest_first(objects) for key, objects in sorted(grouped.items())}
        return Census(object_type, by_key)

    async def _collect(
        self,
        object_type: ObjectType,
        sim_id: int,
        bounds: tuple[int, int] | None,
        found: dict[str, CrmObject],
        *,
        records: int,
    ) -> None:
        """Search the records in ``bounds`` (low inclusive, high exclusive; None: all of them),
        splitting the range in halves while a query matches more than search can list."""
        filters: list[dict[str, str]] = [
            {"propertyName": SIMCRM_SIMULATION_ID, "operator": "EQ", "value": str(sim_id)}
        ]
        if bounds is not None:
            filters += [
                {"propertyName": SIMCRM_RECORD_INDEX, "operator": "GTE", "value": str(bounds[0])},
                {"propertyName": SIMCRM_RECORD_INDEX, "operator": "LT", "value": str(bounds[1])},
            ]
        after: str | None = None
        seen = 0
        while True:
            page = await patiently(
                lambda after=after: self._portal.search(  # type: ignore[misc]
                    object_type,
                    filters,
                    properties=[SIMCRM_KEY, SIMCRM_RECORD_INDEX],
                    limit=SEARCH_PAGE,
                    after=after,
                ),
                self._clock,
            )
            low, high = bounds or (0, records)
            if page.total > SEARCH_CAP and high - low > 1:
                middle = (low + high) // 2
                await self._collect(object_type, sim_id, (low, middle), found, records=records)
                await self._collect(object_type, sim_id, (middle, high), found, records=records)
                return
            for obj in page.results:
                found[obj.id] = obj
            seen += len(page.results)
            if not page.after or not page.results or seen >= SEARCH_CAP:
                return
            after = page.after

    async def read_present(
        self, object_type: ObjectType, ids: Sequence[str]
    ) -> dict[str, CrmObject]:
        """Of ``ids``, the objects that exist and are live, by id (batch reads; no lag)."""
        present: dict[str, CrmObject] = {}
        for start in range(0, len(ids), MAX_BATCH):
            chunk = list(dict.fromkeys(ids[start : start + MAX_BATCH]))
            answer = await patiently(
                lambda chunk=chunk: self._portal.batch_read(  # type: ignore[misc]
                    object_type, chunk, properties=[SIMCRM_KEY]
                ),
                self._clock,
            )
            present.update((i, o) for i, o in answer.found.items() if not o.archived)
        return present

    async def archive(self, object_type: ObjectType, ids: Sequence[str]) -> None:
        """Archive ``ids`` (archiving twice is harmless, so this too is sent again)."""
        for start in range(0, len(ids), MAX_BATCH):
            chunk = list(ids[start : start + MAX_BATCH])
            await patiently(
                lambda chunk=chunk: self._portal.batch_archive(  # type: ignore[misc]
                    object_type, chunk
                ),
                self._clock,
            )
