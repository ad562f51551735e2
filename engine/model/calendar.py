"""Calendar weights: hour of day, day of week, month and holidays, in the simulation's timezone.

A calendar multiplies an arrival shape bucket by bucket over the :class:`HourGrid`::

    w_j = hours[local_hour_j] · weekdays[weekday_j] · months[month_j] · (holiday_factor if the
          local date is a public holiday of ``country`` else 1)

Presets give starting weights (``none`` turns a scenario's default calendar off): ``b2b``
(business hours, Monday to Friday: about 94 % of the weight falls 08:00–18:00 on weekdays) and
``b2c`` (evenings and weekends). Explicit ``hours``, ``weekdays`` or ``months`` replace the
preset's. Only relative weights matter. A calendar with no
preset, no weights and no country is no calendar at all: the shape is used alone.

An hour is *open* (for activities that keep to business hours) when its hour and weekday weights
are both at least half of their largest and its date is not a holiday.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Annotated, Any, Literal

import holidays
from pydantic import ConfigDict, Field, TypeAdapter
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.model.errors import DefinitionError
from engine.model.grid import HourGrid
from engine.model.validation import validate_as

Weight = Annotated[float, Field(ge=0, le=1000)]

PRESETS: Mapping[str, Mapping[str, tuple[float, ...]]] = {
    "b2b": {
        # 00–06 barely, 07 waking up, 08–16 full, 12 lunch dip, 17 winding down, evenings faint.
        "hours": (0.01,) * 7
        + (0.2,)
        + (1.0,) * 4
        + (0.7,)
        + (1.0,) * 4
        + (0.5,)
        + (0.05,) * 3
        + (0.01,) * 3,
        "weekdays": (1.0, 1.1, 1.1, 1.0, 0.8, 0.05, 0.03),
    },
    "b2c": {
        "hours": (0.05,) * 6
        + (0.2, 0.4, 0.4)
        + (0.5,) * 3
        + (0.7, 0.7)
        + (0.6,) * 3
        + (0.8, 0.8)
        + (1.0,) * 4
        + (0.4,),
        "weekdays": (0.9, 0.9, 0.9, 1.0, 1.1, 1.3, 1.2),
    },
}


@pydantic_dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class CalendarConfig:
    """The ``calendar`` field of a simulation. Every part is optional."""

    preset: Literal["b2b", "b2c", "none"] | None = None
    hours: Annotated[tuple[Weight, ...], Field(min_length=24, max_length=24)] | None = None
    weekdays: Annotated[tuple[Weight, ...], Field(min_length=7, max_length=7)] | None = None
    months: Annotated[tuple[Weight, ...], Field(min_length=12, max_length=12)] | None = None
    country: str | None = None
    subdivision: str | None = None
    holiday_factor: Annotated[float, Field(ge=0, le=1)] = 0.1

    @property
    def active(self) -> bool:
        """False when this calendar changes nothing."""
        preset = self.preset if self.preset != "none" else None
        return any(
            x is not None for x in (preset, self.hours, self.weekdays, self.months, self.country)
        )

    def resolved_hours(self) -> tuple[float, ...]:
        preset = PRESETS.get(self.preset or "none")
        return self.hours or (preset["hours"] if preset else (1.0,) * 24)

    def resolved_weekdays(self) -> tuple[float, ...]:
        preset = PRESETS.get(self.preset or "none")
        return self.weekdays or (preset["weekdays"] if preset else (1.0,) * 7)

    def as_json(self) -> dict[str, Any]:
        """The JSON object stored in the ``calendar`` column (defaults left out)."""
        values: dict[str, Any] = {
            "preset": self.preset,
            "hours": list(self.hours) if self.hours else None,
            "weekdays": list(self.weekdays) if self.weekdays else None,
            "months": list(self.months) if self.months else None,
            "country": self.country,
            "subdivision": self.subdivision,
        }
        if self.holiday_factor != 0.1:
            values["holiday_factor"] = self.holiday_factor
        return {k: v for k, v in values.items() if v is not None}


_ADAPTER = TypeAdapter(CalendarConfig)


def parse_calendar(data: Mapping[str, Any] | None) -> CalendarConfig:
    """Validate the ``calendar`` JSON object, including the holiday country code.

    Raises:
        DefinitionError: naming ``calendar.<key>``.
    """
    config = validate_as(_ADAPTER, dict(data or {}), "calendar")
    if config.country is not None:
        holiday_dates(config, 2024, 2024)
    return config


def holiday_dates(config: CalendarConfig, first_year: int, last_year: int) -> frozenset[int]:
    """Ordinals of the public holidays of ``config.country`` in the given years."""
    if config.country is None:
        return frozenset()
    try:
        table = holidays.country_holidays(
            config.country, subdiv=config.subdivision, years=range(first_year, last_year + 1)
        )
    except NotImplementedError:
        raise DefinitionError(
            "calendar.country", f"{config.country!r} is not a country code the holidays know"
        ) from None
    except Exception as exc:  # the package raises plain exceptions for a bad subdivision
        raise DefinitionError("calendar.subdivision", str(exc)) from None
    return frozenset(day.toordinal() for day in table)


@dataclass(frozen=True)
class CalendarWeights:
    """The calendar evaluated over a grid: one weight and one open flag per bucket."""

    grid: HourGrid
    config: CalendarConfig

    @cached_property
    def _holidays(self) -> frozenset[int]:
        if not self.grid.local_dates:
            return frozenset()
        first = date.fromordinal(self.grid.local_dates[0]).year
        last = date.fromordinal(self.grid.local_dates[-1]).year
        return holiday_dates(self.config, first, last)

    @cached_property
    def weights(self) -> tuple[float, ...]:
        hours = self.config.resolved_hours()
        weekdays = self.config.resolved_weekdays()
        months = self.config.months or (1.0,) * 12
        off = self._holidays
        factor = self.config.holiday_factor
        grid = self.grid
        return tuple(
            hours[grid.local_hours[j]]
            * weekdays[grid.weekdays[j]]
            * months[grid.months[j] - 1]
            * (factor if grid.local_dates[j] in off else 1.0)
            for j in range(grid.size)
        )

    @cached_property
    def open(self) -> tuple[bool, ...]:
        hours = self.config.resolved_hours()
        weekdays = self.config.resolved_weekdays()
        hour_bar, day_bar = max(hours) / 2, max(weekdays) / 2
        off = self._holidays
        grid = self.grid
        return tuple(
            hours[grid.local_hours[j]] >= hour_bar
            and weekdays[grid.weekdays[j]] >= day_bar
            and grid.local_dates[j] not in off
            for j in range(grid.size)
        )


class OpenHours:
    """Rolls a time forward to the calendar's next open hour (for activities in business hours).

    A time in an open bucket stays put; one in a closed bucket moves to the next open bucket,
    keeping its offset into the hour when that fits (so minutes and seconds stay natural).
    Times outside the grid are returned unchanged, and a time with no open bucket after it
    becomes the grid's end: either way the planner drops or clips it as past the window.
    """

    __slots__ = ("_bounds", "_next")

    def __init__(self, weights: CalendarWeights) -> None:
        self._bounds = weights.grid.bounds
        following: list[int] = [len(weights.open)] * len(weights.open)
        upcoming = len(weights.open)
        for j in range(len(weights.open) - 1, -1, -1):
            if weights.open[j]:
                upcoming = j
            following[j] = upcoming
        self._next = tuple(following)

    def next_open(self, t_ms: int) -> int:
        bounds = self._bounds
        if t_ms < bounds[0] or t_ms >= bounds[-1]:
            return t_ms
        j = bisect_right(bounds, t_ms) - 1
        k = self._next[j]
        if k == j:
            return t_ms
        if k >= len(self._next):
            return bounds[-1]
        offset = t_ms - bounds[j]
        width = bounds[k + 1] - bounds[k]
        return bounds[k] + (offset if offset < width else 0)
