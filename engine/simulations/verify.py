"""Checking a simulation against its CRM account: each object there once, none missing.

HubSpot has no idempotency key, so a create whose answer was lost can leave an object the run does
not know of, and a re-sent one can leave two. :func:`verify_simulation` counts what is really in
the account: every live object of every type carrying the simulation's ``simcrm_simulation_id``,
grouped by ``simcrm_key`` (:mod:`engine.crm.census`), and compares it with what the run planned
and recorded (the ids in ``{s<id>}:ids``, the live counters). Per type it reports:

- *duplicates* — objects beyond the first carrying one key;
- *missing* — keys the run recorded as created that no live object carries (a key search does
  not show yet is first looked up by its recorded id, which does not lag);
- *unrecorded* — keys in the account the run holds no id for (``simcrm cleanup`` would not archive
  them).

With ``fix``, each key's extras are archived: the object the run recorded is kept (its updates and
associations went to it), else the oldest. Only a simulation that has ended is fixed; one still
running may yet be resolving a lost answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.cleanup import recorded_objects
from engine.crm import CrmObject, ObjectType, PortalClient
from engine.crm.census import Census, CensusTaker
from engine.model.objects import created_object_type
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.simulations.errors import IllegalAction
from schema.simulations import Simulation, SimulationStatus

SAMPLE = 20
"""How many keys each list of missing or duplicated keys shows at most."""
ENDED = frozenset(s for s in SimulationStatus if s.is_final)


@dataclass(frozen=True, slots=True)
class TypeCheck:
    """One object type of a simulation, as planned, as recorded, and as the CRM holds it."""

    object_type: ObjectType
    planned: int
    created: int
    in_crm: int
    keys_in_crm: int
    duplicates: int
    duplicate_keys: tuple[str, ...]
    missing: int
    missing_keys: tuple[str, ...]
    unrecorded: int
    archived: int = 0

    @property
    def duplicates_left(self) -> int:
        return self.duplicates - self.archived


@dataclass(frozen=True, slots=True)
class Verification:
    """Every type's :class:`TypeCheck`; ``fixed`` when extras were archived."""

    simulation_id: int
    status: SimulationStatus
    types: tuple[TypeCheck, ...]
    fixed: bool = False

    @property
    def duplicates(self) -> int:
        """Duplicates found (before any fix)."""
        return sum(t.duplicates for t in self.types)

    @property
    def duplicates_left(self) -> int:
        return sum(t.duplicates_left for t in self.types)

    @property
    def missing(self) -> int:
        return sum(t.missing for t in self.types)

    @property
    def ok(self) -> bool:
        """Every recorded object is in the CRM exactly once (after the fix, when one ran)."""
        return self.duplicates_left == 0 and self.missing == 0


def planned_and_created(counts: metrics.Counts) -> dict[ObjectType, tuple[int, int]]:
    """Jobs scheduled to create each object type, and objects the run counted as created."""
    totals: dict[ObjectType, tuple[int, int]] = {}
    for kind, by_metric in counts.items():
        object_type = created_object_type(kind)
        if object_type is None:
            continue
        planned, created = totals.get(object_type, (0, 0))
        totals[object_type] = (
            planned + by_metric.get(metrics.Metric.SCHEDULED.value, 0),
            created + by_metric.get(metrics.Metric.CREATED.value, 0),
        )
    return totals


def keep_of(found: Sequence[CrmObject], recorded_id: str | None) -> CrmObject:
    """Which of one key's objects to keep: the recorded one, else the oldest (``found`` is
    oldest first)."""
    return next((o for o in found if o.id == recorded_id), found[0])


async def _check_type(
    taker: CensusTaker,
    object_type: ObjectType,
    row: Simulation,
    recorded: Mapping[str, str],
    planned: tuple[int, int],
) -> tuple[TypeCheck, Census]:
    census = await taker.count(object_type, row.id, row.total_records)
    by_key = dict(census.by_key)
    unseen = [key for key in recorded if key not in by_key]
    if unseen:  # perhaps only not in the search index yet: read them by id
        present = await taker.read_present(object_type, [recorded[key] for key in unseen])
        for key in unseen:
            obj = present.get(recorded[key])
            if obj is not None and obj.properties.get("simcrm_key") in (None, key):
                by_key[key] = (obj,)
    census = Census(object_type, by_key)
    missing = sorted(key for key in recorded if key not in by_key)
    doubled = sorted(key for key, found in by_key.items() if len(found) > 1)
    check = TypeCheck(
        object_type=object_type,
        planned=planned[0],
        created=planned[1],
        in_crm=census.objects,
        keys_in_crm=len(by_key),
        duplicates=census.duplicates,
        duplicate_keys=tuple(doubled[:SAMPLE]),
        missing=len(missing),
        missing_keys=tuple(missing[:SAMPLE]),
        unrecorded=sum(1 for key in by_key if key not in recorded) if recorded else 0,
    )
    return check, census


async def _archive_extras(taker: CensusTaker, census: Census, recorded: Mapping[str, str]) -> int:
    extras = [
        obj.id
        for key, found in census.by_key.items()
        if len(found) > 1
        for obj in found
        if obj.id != keep_of(found, recorded.get(key)).id
    ]
    await taker.archive(census.object_type, extras)
    return len(extras)


async def verify_simulation(
    row: Simulation,
    portal: PortalClient,
    redis: Any,
    keys: SimKeys,
    *,
    fix: bool = False,
    taker: CensusTaker | None = None,
) -> Verification:
    """Count ``row``'s objects in ``portal``'s account and compare them with its run.

    ``redis`` and ``keys`` give what the run recorded and counted; ``taker`` (one over
    ``portal`` on the system clock by default) does the searching.

    Raises:
        IllegalAction: ``fix`` for a simulation that has not ended.
        CrmError: the account refused or kept failing (after the census's retries).
    """
    if fix and not row.status.is_final:
        raise IllegalAction(row, "have its duplicates archived", ENDED)
    taker = taker or CensusTaker(portal)
    recorded = await recorded_objects(redis, keys)
    totals = planned_and_created(await metrics.read(redis, keys))
    checks: list[TypeCheck] = []
    for object_type in ObjectType:
        mine = recorded.get(object_type, {})
        check, census = await _check_type(
            taker, object_type, row, mine, totals.get(object_type, (0, 0))
        )
        if fix and census.duplicates:
            check = replace(check, archived=await _archive_extras(taker, census, mine))
        checks.append(check)
    return Verification(row.id, row.status, tuple(checks), fixed=fix)
