"""Simulated time → wall-clock time for one simulation (SPEC §3 ``time_scale``, ``backfill``).

A backfill makes everything due at once: the rate limits alone pace it. Otherwise the window plays
from its *anchor* at ``time_scale`` simulated milliseconds per wall millisecond. The anchor is the
moment the simulation first started — except in real time (``time_scale`` 1) for a window that
starts later than that, whose records wait for their actual moments.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import SimulationSpec
from schema.simulations import Simulation


@dataclass(frozen=True, slots=True)
class Timing:
    start_ms: int
    anchor_ms: int
    time_scale: float
    backfill: bool

    @classmethod
    def of(cls, spec: SimulationSpec, started_ms: int) -> Timing:
        anchor = started_ms
        if spec.time_scale == 1 and spec.start_ms > started_ms:
            anchor = spec.start_ms
        return cls(spec.start_ms, anchor, spec.time_scale, spec.backfill)

    @classmethod
    def for_row(cls, spec: SimulationSpec, row: Simulation) -> Timing:
        """The timing of a stored simulation (anchored at 0 while it has never started)."""
        started = int(row.started_at.timestamp() * 1000) if row.started_at is not None else 0
        return cls.of(spec, started)

    def wall_ms(self, simulated_ms: int) -> int:
        """When something simulated at ``simulated_ms`` is due (0 for a backfill: due now)."""
        if self.backfill:
            return 0
        return self.anchor_ms + int((simulated_ms - self.start_ms) / self.time_scale)

    def simulated_ms(self, wall_ms: int) -> int:
        """The simulated moment the wall clock has reached (the window's end for a backfill)."""
        if self.backfill:
            return 2**62
        return self.start_ms + int((wall_ms - self.anchor_ms) * self.time_scale)
