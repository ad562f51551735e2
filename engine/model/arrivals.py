"""Assembling a spec's arrival machinery: its hour grid, calendar weights, profile and schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.calendar import CalendarWeights
from engine.model.grid import HourGrid
from engine.model.methods import build_shape
from engine.model.profile import ArrivalProfile
from engine.model.schedule import Schedule

if TYPE_CHECKING:
    from engine.model.spec import SimulationSpec


def build_grid(spec: SimulationSpec) -> HourGrid:
    """The window's hour grid in the simulation's timezone."""
    return HourGrid.build(spec.start_ms, spec.end_ms, spec.timezone)


def build_calendar(spec: SimulationSpec, grid: HourGrid | None = None) -> CalendarWeights | None:
    """The calendar in effect evaluated over the grid, or None when there is none."""
    if not spec.calendar.active:
        return None
    return CalendarWeights(grid or build_grid(spec), spec.calendar)


def build_profile(spec: SimulationSpec, calendar: CalendarWeights | None = None) -> ArrivalProfile:
    """The spec's arrival profile (its shape times its calendar, if any).

    Raises:
        DefinitionError: the calendar leaves no weight where the shape puts arrivals.
    """
    shape = build_shape(spec.method, spec.distribution_params)
    calendar = calendar if calendar is not None else build_calendar(spec)
    if calendar is None:
        return ArrivalProfile(spec.start_ms, spec.end_ms, shape)
    return ArrivalProfile(spec.start_ms, spec.end_ms, shape, calendar.grid.bounds, calendar.weights)


def build_schedule(spec: SimulationSpec, profile: ArrivalProfile | None = None) -> Schedule:
    """The schedule of the spec's records."""
    return Schedule(
        profile or build_profile(spec),
        start_ms=spec.start_ms,
        end_ms=spec.end_ms,
        total=spec.total_records,
        seed=spec.seed,
        iid=spec.method.iid,
    )
