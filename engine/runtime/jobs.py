"""The runtime's jobs: what each carries (identifiers only) and how it is named.

* ``contact`` (primary stream): create record ``i``'s contact. Data ``{"s": sim, "i": i}``.
* one type per activity kind (secondary stream): ``company``, ``deal``, ``note``, ``call``,
  ``task``, ``ticket``, ``lifecycle_update``, ``deal_stage_update``. Data
  ``{"s": sim, "i": i, "o": ordinal, "t": simulated ms, "c": 1 when clipped}`` — enough to rebuild
  the :class:`PlannedActivity` without planning the record again.

Ids are deterministic (``"{sim}:{type}:{i}"`` or ``"{sim}:{type}:{i}:{ordinal}"``, the same text as
the object's ``simcrm_key``), so enqueuing a job twice is harmless, and the scope is the simulation
id, so all of a simulation's jobs live on one shard.
"""

from __future__ import annotations

from engine.model import ActivityType, PlannedActivity, object_key
from streams import Job, Priority

CONTACT = "contact"
ACTIVITY_TYPES: tuple[str, ...] = tuple(kind.value for kind in ActivityType)
JOB_TYPES: tuple[str, ...] = (CONTACT, *ACTIVITY_TYPES)


def contact_job(sim_id: int, index: int) -> Job:
    return Job(
        id=object_key(sim_id, CONTACT, index),
        type=CONTACT,
        scope=str(sim_id),
        data={"s": sim_id, "i": index},
        priority=Priority.PRIMARY,
    )


def activity_job(sim_id: int, index: int, activity: PlannedActivity) -> Job:
    data: dict[str, str | int] = {
        "s": sim_id,
        "i": index,
        "o": activity.ordinal,
        "t": activity.at_ms,
    }
    if activity.clipped:
        data["c"] = 1
    return Job(
        id=object_key(sim_id, activity.kind.value, index, activity.ordinal),
        type=activity.kind.value,
        scope=str(sim_id),
        data=data,
        priority=Priority.SECONDARY,
    )


def sim_of(job: Job) -> int:
    return int(job.data["s"])


def index_of(job: Job) -> int:
    return int(job.data["i"])


def activity_of(job: Job) -> PlannedActivity:
    """The planned activity an activity job stands for."""
    return PlannedActivity(
        kind=ActivityType(job.type),
        ordinal=int(job.data["o"]),
        at_ms=int(job.data["t"]),
        clipped=bool(job.data.get("c")),
    )
