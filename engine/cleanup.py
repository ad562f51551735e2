"""Archiving in the CRM exactly what one simulation created (``simcrm cleanup SIM``).

The runtime records the CRM id of every object a simulation creates in ``{s<id>}:ids``; cleanup
archives those objects with ``batch/archive`` (100 per call, through the rate limiter) and removes
each archived id from the record, so a cleanup that stops half-way picks up where it left off.
Nothing that simulation did not create is touched. Only a simulation that has ended (completed,
cancelled or failed) is cleaned up: one that may still run would go on adding to what it made.
The objects are archived in the account the simulation's owner uses now.

Once nothing recorded is left to archive, the simulation's Redis state has no more use: its live
counters are written to the database and its keys and dead letters are removed (:func:`forget`),
without waiting for the retention to end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.crm import ObjectType, PortalClient
from engine.model.objects import created_object_type
from engine.runtime import metrics
from engine.runtime.context import recorded_id
from engine.runtime.keys import SimKeys
from engine.runtime.retention import forget
from limits.config import MAX_BATCH
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue

# Activities go first, the records they hang on last.
ORDER = (
    ObjectType.NOTE,
    ObjectType.CALL,
    ObjectType.TASK,
    ObjectType.TICKET,
    ObjectType.DEAL,
    ObjectType.COMPANY,
    ObjectType.CONTACT,
)


class CleanupRefused(Exception):
    """The simulation has not ended."""


@dataclass(slots=True)
class CleanupResult:
    archived: dict[ObjectType, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.archived.values())


def check_can_clean(status: SimulationStatus) -> None:
    if not status.is_final:
        raise CleanupRefused(f"the simulation is {status}: cancel it or let it finish first")


async def recorded_objects(redis: object, keys: SimKeys) -> dict[ObjectType, dict[str, str]]:
    """The simulation's created objects by type: ``{object key: CRM id}``."""
    found: dict[ObjectType, dict[str, str]] = {t: {} for t in ORDER}
    async for raw_key, raw_id in redis.hscan_iter(keys.ids, count=1_000):  # type: ignore[attr-defined]
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        object_id = recorded_id(raw_id)
        parts = key.split(":")
        object_type = created_object_type(parts[1]) if len(parts) > 2 else None
        if object_id is not None and object_type is not None:
            found[object_type][key] = object_id
    return found


async def archive_all(
    redis: object,
    keys: SimKeys,
    portal: PortalClient,
    objects: dict[ObjectType, dict[str, str]],
    progress: Callable[[ObjectType, int], None] = lambda _type, _n: None,
) -> CleanupResult:
    """Archive every recorded object, activities first; returns counts by type."""
    result = CleanupResult()
    for object_type in ORDER:
        items = list(objects.get(object_type, {}).items())
        for start in range(0, len(items), MAX_BATCH):
            chunk = items[start : start + MAX_BATCH]
            await portal.batch_archive(object_type, [object_id for _, object_id in chunk])
            await redis.hdel(keys.ids, *(key for key, _ in chunk))  # type: ignore[attr-defined]
            result.archived[object_type] = result.archived.get(object_type, 0) + len(chunk)
            progress(object_type, len(chunk))
    return result


async def forget_cleaned(redis: object, store: Store, queue: Queue, keys: SimKeys) -> None:
    """After a complete cleanup: write the live counters to the database, then remove the
    simulation's keys and dead letters from Redis."""
    counts = await metrics.read(redis, keys)
    await store.counters.raise_to(keys.sim_id, metrics.flat(counts))
    await forget(redis, queue, keys)
