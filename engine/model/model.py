"""The simulation model of one simulation: the one object the runtime and the planner hold.

Built from a :class:`SimulationSpec` alone; everything it answers is a pure function of the spec
and a record index. The Faker pools (the only costly part, a fraction of a second) are drawn on
first use of record contents, so schedule-only users never pay for them. One instance may be kept
per simulation for its whole run; it holds no per-record state.
"""

from __future__ import annotations

from functools import cached_property

from engine.model.activities import ActivityPlanner, PlannedActivity, RecordPlan
from engine.model.arrivals import build_calendar, build_grid, build_profile, build_schedule
from engine.model.calendar import CalendarWeights, OpenHours
from engine.model.engagements import EngagementFactory
from engine.model.grid import HourGrid
from engine.model.objects import WRITES, ObjectWrite
from engine.model.pools import Pools
from engine.model.profile import ArrivalProfile
from engine.model.records import RecordFactory
from engine.model.scenario import ActivityType
from engine.model.schedule import DEFAULT_SEGMENT_MS, Schedule, Segment
from engine.model.spec import SimulationSpec


class SimulationModel:
    """Times, segments, contents and activity plans of one simulation's records."""

    def __init__(self, spec: SimulationSpec) -> None:
        self.spec = spec
        self.calendar: CalendarWeights | None = build_calendar(spec)
        self.profile: ArrivalProfile = build_profile(spec, self.calendar)
        self.schedule: Schedule = build_schedule(spec, self.profile)
        self.planner = ActivityPlanner(
            sim_id=spec.sim_id,
            seed=spec.seed,
            end_ms=spec.end_ms,
            scenario=spec.scenario,
            open_hours=OpenHours(self.calendar) if self.calendar is not None else None,
        )

    @cached_property
    def grid(self) -> HourGrid:
        """The window's hour grid in the simulation's timezone (for histograms)."""
        return self.calendar.grid if self.calendar is not None else build_grid(self.spec)

    @cached_property
    def records(self) -> RecordFactory:
        pools = Pools.draw(self.spec.scenario.locale, self.spec.seed)
        return RecordFactory(
            sim_id=self.spec.sim_id, seed=self.spec.seed, scenario=self.spec.scenario, pools=pools
        )

    @cached_property
    def engagements(self) -> EngagementFactory:
        return EngagementFactory(
            seed=self.spec.seed, scenario=self.spec.scenario, records=self.records
        )

    # -- schedule -------------------------------------------------------------------------------

    def time_of(self, index: int) -> int:
        """Record ``index``'s simulated time, epoch ms (``start ≤ t < end``)."""
        return self.schedule.time_of(index)

    def index_range(self, t0_ms: int, t1_ms: int) -> range:
        """Indices of the records due in ``[t0_ms, t1_ms)``, in O(log N)."""
        return self.schedule.index_range(t0_ms, t1_ms)

    def segment(self, number: int, length_ms: int = DEFAULT_SEGMENT_MS) -> Segment:
        return self.schedule.segment(number, length_ms)

    # -- contents -------------------------------------------------------------------------------

    def contact(self, index: int) -> dict[str, str]:
        """Record ``index``'s contact properties, created at its scheduled time."""
        return self.records.contact(index, self.schedule.time_of(index))

    def plan(self, index: int) -> RecordPlan:
        """Record ``index``'s activities and their times (budgets not applied)."""
        return self.planner.plan(index, self.schedule.time_of(index))

    def activity_properties(self, index: int, activity: PlannedActivity) -> dict[str, str]:
        """The properties to send for one planned activity of record ``index``."""
        return self.engagements.properties(index, activity)

    @staticmethod
    def write_of(kind: ActivityType) -> ObjectWrite:
        """The HubSpot write (object type, create/update, associations) of an activity type."""
        return WRITES[kind]
