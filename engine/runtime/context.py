"""What every job handler shares: Redis, the queue, the outcome rules, the createdate policy,
the clock — and how created objects are recorded.

Every created object's CRM id is recorded in ``{s<id>}:ids`` under its object key (which is also
its job's id and its ``simcrm_key``) by ``lua/record-2.lua``, which counts each object once in the
live metrics, however often its job runs. ``-`` marks an object that will not exist: no company
was planned for the record, or it went over budget, or its job was dead-lettered. Jobs that depend
on an object (a deal's company association, a deal-stage update) wait while its job is live in the
queue, and go ahead without it once it is neither recorded nor live; a replayed job that creates
it later overwrites the marker with the real id. Normally they do not get that far: they are
parked until their parent's job ends, which releases them (:mod:`.release`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from core.lua import Scripts
from engine.model import DEFAULT_SEGMENT_MS
from engine.runtime.createdate import CreatedatePolicy
from engine.runtime.keys import SimKeys
from engine.runtime.outcomes import Outcomes
from streams import Queue

ABSENT = "-"
WAIT_FOR_PARENT_MS = 1_000
# How long HubSpot's search may lag behind a create: "seconds to a minute". A create whose answer
# was lost is looked up only this long after the loss was seen.
DEFAULT_SEARCH_LAG_MS = 60_000


@dataclass(frozen=True, slots=True)
class HandlerContext:
    redis: Any
    queue: Queue
    scripts: Scripts  # the runtime's Lua scripts (engine/runtime/lua)
    outcomes: Outcomes
    createdate: CreatedatePolicy
    clock: Clock
    search_lag_ms: int = DEFAULT_SEARCH_LAG_MS
    segment_ms: int = DEFAULT_SEGMENT_MS  # segments' length, for the per-segment counts

    async def record(self, keys: SimKeys, job_type: str, ids: Mapping[str, str]) -> None:
        """Record created objects' ids; each counts once as ``<job_type>:created``."""
        if ids:
            pairs = [part for item in ids.items() for part in item]
            await self.scripts.run("record", [keys.ids, keys.metrics], [job_type, *pairs])


def as_text(value: Any) -> str:
    """A Redis reply (bytes or str) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def recorded_id(raw: Any) -> str | None:
    """A value read from the ids hash: the CRM id, or None when absent or marked ABSENT."""
    if raw is None:
        return None
    text = as_text(raw)
    return None if text == ABSENT else text


def is_absent(raw: Any) -> bool:
    """Whether a value read from the ids hash marks an object that will not exist."""
    return raw is not None and as_text(raw) == ABSENT


def mark_absent(pipe: Any, ids_key: str, object_keys: Iterable[str]) -> None:
    """Queue HSETNX of the absent marker for each key (a recorded real id is never replaced)."""
    for key in object_keys:
        pipe.hsetnx(ids_key, key, ABSENT)
