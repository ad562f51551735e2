"""Backlog pressure, and the thinning factor it implies (SPEC §3 "Thinning").

A monitor reads the queue's gauges about once a second. While the jobs ready or running stay under
the threshold, the factor is 1 (nothing thinned); above it, the factor is ``threshold / backlog``
(so twice the threshold keeps half the optional work), never below ``MIN_FACTOR``. An open circuit
breaker on the simulation's account halves whatever factor the backlog gives. Only optional
engagements (notes, calls, tasks) are ever thinned; records, companies, deals, tickets and stage
progressions are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import ActivityType
from streams import fnv1a_32

MIN_FACTOR = 0.05
BREAKER_FACTOR = 0.5
THINNABLE = frozenset({ActivityType.NOTE, ActivityType.CALL, ActivityType.TASK})


@dataclass(frozen=True, slots=True)
class Pressure:
    """The backlog when last measured, and the thinning factor in (0, 1]."""

    backlog: int = 0
    factor: float = 1.0
    reason: str = ""

    @classmethod
    def measure(cls, backlog: int, threshold: int, *, breaker_open: bool = False) -> Pressure:
        factor, reason = 1.0, ""
        if backlog > threshold:
            factor, reason = max(MIN_FACTOR, threshold / backlog), "backlog"
        if breaker_open:
            factor, reason = max(MIN_FACTOR, factor * BREAKER_FACTOR), "breaker"
        return cls(backlog, round(factor, 4), reason)


def keeps(job_id: str, factor: float) -> bool:
    """Whether the optional job ``job_id`` survives thinning at ``factor``.

    Deterministic in the job id (FNV-1a), so the same record thinned twice makes the same choice,
    and about ``factor`` of all jobs are kept.
    """
    if factor >= 1.0:
        return True
    return fnv1a_32(f"thin:{job_id}") / 2**32 < factor
