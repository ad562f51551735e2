"""Live metrics of a simulation: one Redis hash of counters per (object type, metric).

Writers add with HINCRBY (usually inside a pipeline with the work they count); readers get the
whole hash in one round trip. The store keeps the durable copy (schema.counters), raised to the
live values periodically and at shutdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from engine.runtime.keys import SimKeys

Counts = dict[str, dict[str, int]]
"""``{object_type: {metric: value}}``, as schema.counters returns it too."""


class Metric(StrEnum):
    SCHEDULED = "scheduled"  # jobs enqueued (planned and admitted)
    CREATED = "created"  # objects created in the CRM, each counted once
    UPDATED = "updated"  # lifecycle and deal-stage updates applied
    FAILED = "failed"  # attempts that failed and were retried
    DEAD = "dead"  # jobs dead-lettered after their attempts ran out
    THINNED = "thinned"  # optional activities skipped under pressure
    SKIPPED = "skipped"  # jobs dropped: simulation cancelled, or their object will not exist
    RATE_LIMITED = "rate_limited"  # 429 responses met
    REPLAYED = "replayed"  # dead letters taken back out of the dead-letter queue by a replay


def field(object_type: str, metric: Metric) -> str:
    return f"{object_type}:{metric.value}"


def parse(raw: Mapping[Any, Any]) -> Counts:
    """A metrics hash as HGETALL returns it (bytes or str) → nested counts."""
    counts: Counts = {}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        object_type, _, metric = name.rpartition(":")
        if object_type:
            counts.setdefault(object_type, {})[metric] = int(value)
    return counts


async def read(redis: Any, keys: SimKeys) -> Counts:
    """The simulation's live counts (empty when it never ran or Redis lost them)."""
    return parse(await redis.hgetall(keys.metrics))


def flat(counts: Counts) -> dict[tuple[str, str], int]:
    """Nested counts as the store's counters take them: ``{(object_type, metric): value}``."""
    return {
        (kind, metric): value
        for kind, by_metric in counts.items()
        for metric, value in by_metric.items()
    }


def presented(counts: Counts) -> Counts:
    """The counts as people read them: ``dead`` is what still sits in the dead-letter queue
    (dead-lettered minus replayed, per type) and ``all:settled`` leaves out the replayed jobs,
    which settle again once they have run, so it never exceeds ``scheduled``.

    The stored counters only ever grow (the store raises its copy to them); this is where the
    replays are taken off.
    """
    shown = {kind: dict(by_metric) for kind, by_metric in counts.items()}
    replayed = 0
    for kind, by_metric in shown.items():
        taken = by_metric.get(Metric.REPLAYED.value, 0)
        if kind == "all" or not taken:
            continue
        replayed += taken
        by_metric[Metric.DEAD.value] = max(0, by_metric.get(Metric.DEAD.value, 0) - taken)
    overall = shown.get("all")
    if overall is not None and "settled" in overall:
        overall["settled"] = max(0, overall["settled"] - replayed)
    return shown


def total(counts: Counts, metric: Metric) -> int:
    return sum(by_metric.get(metric.value, 0) for by_metric in counts.values())
