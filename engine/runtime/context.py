"""What every job handler shares: Redis, the outcome rules, the createdate policy, the clock.

Also the value recorded in ``{s<id>}:ids`` for an object that will not exist: one dropped by a
budget when its record was planned, or whose job was dead-lettered. Jobs that depend on such an
object (a deal's company association, a deal-stage update) go ahead without it instead of waiting
for it forever; a replayed job that creates it later overwrites the marker with the real id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.runtime.createdate import CreatedatePolicy
from engine.runtime.outcomes import Outcomes

ABSENT = "-"
WAIT_FOR_PARENT_MS = 1_000


@dataclass(frozen=True, slots=True)
class HandlerContext:
    redis: Any
    outcomes: Outcomes
    createdate: CreatedatePolicy
    now_ms: Callable[[], int]
    search_lag_ms: int = 10_000  # how long HubSpot's search may lag behind a create


def recorded_id(raw: Any) -> str | None:
    """A value read from the ids hash: the CRM id, or None when absent or marked ABSENT."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return None if text == ABSENT else text


def mark_absent(pipe: Any, ids_key: str, object_keys: Iterable[str]) -> None:
    """Queue HSETNX of the absent marker for each key (a recorded real id is never replaced)."""
    for key in object_keys:
        pipe.hsetnx(ids_key, key, ABSENT)
