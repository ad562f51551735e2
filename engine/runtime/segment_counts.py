"""Per-segment progress: how many of each segment's records were created and have settled.

A segment is a range of records, so its progress is its records' contact jobs: kept beside its
expansion state in the segments hash (``{s<id>}:segments``) as ``"<n>:created"`` (contacts that
exist) and ``"<n>:settled"`` (contact jobs finished in any way: created, dead-lettered, skipped),
raised by the handlers in the same round trip as the live metrics. A replay takes its contact
jobs off ``settled`` again until they settle anew, so ``settled`` never exceeds what the segment
has queued. Like the expansion state, these counts live in Redis only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from engine.model import SimulationModel

CREATED = "created"
SETTLED = "settled"


def count_field(number: int, name: str) -> str:
    return f"{number}:{name}"


def increments(
    model: SimulationModel,
    segment_ms: int,
    *,
    settled: Iterable[int] = (),
    created: Iterable[int] = (),
    sign: int = 1,
) -> Counter[str]:
    """The segments-hash increments for records ``settled`` and ``created`` (by index);
    ``sign=-1`` takes them off (a replay)."""
    fields: Counter[str] = Counter()
    for name, indices in ((SETTLED, settled), (CREATED, created)):
        for index in indices:
            fields[count_field(model.schedule.segment_of(index, segment_ms), name)] += sign
    return fields
