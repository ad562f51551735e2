"""The hour grid: a window cut into hourly buckets walked in UTC and labelled in local time.

Bucket boundaries are the window's start, every instant in between at which the local clock of
the simulation's timezone shows a whole hour, and the window's end. Walking in UTC makes daylight
saving time harmless: a 23-hour local day simply has 23 buckets, and a repeated local hour appears
twice, each labelled with the local hour it shows. Calendar weights and the plan's histograms are
computed over this grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class HourGrid:
    """``bounds[j] ≤ t < bounds[j + 1]`` is bucket ``j``; its local labels are at index ``j``.

    ``local_hours`` are 0–23, ``weekdays`` 0 = Monday … 6 = Sunday, ``local_dates`` proleptic
    ordinals of the local date (``date.fromordinal``), ``months`` 1–12.
    """

    timezone: str
    bounds: tuple[int, ...]
    local_hours: tuple[int, ...]
    weekdays: tuple[int, ...]
    local_dates: tuple[int, ...]
    months: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.bounds) - 1

    @classmethod
    def build(cls, start_ms: int, end_ms: int, timezone: str) -> HourGrid:
        """The grid of ``[start_ms, end_ms)`` in ``timezone`` (an IANA name)."""
        zone = ZoneInfo(timezone)
        bounds = [start_ms]
        hours: list[int] = []
        weekdays: list[int] = []
        dates: list[int] = []
        months: list[int] = []
        at = start_ms
        while at < end_ms:
            local = datetime.fromtimestamp(at / 1000, UTC).astimezone(zone)
            offset = local.utcoffset()
            offset_ms = int(offset.total_seconds() * 1000) if offset is not None else 0
            following = at + (HOUR_MS - (at + offset_ms) % HOUR_MS)
            hours.append(local.hour)
            weekdays.append(local.weekday())
            dates.append(local.toordinal())
            months.append(local.month)
            at = min(following, end_ms)
            bounds.append(at)
        return cls(
            timezone, tuple(bounds), tuple(hours), tuple(weekdays), tuple(dates), tuple(months)
        )
