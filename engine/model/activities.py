"""Activity planning: what record ``i`` gets after it is created, and when.

A record's plan is drawn from its own RNG, keyed ``"{sim_id}:{record_index}"`` and salted with the
seed (:func:`engine.model.rng.keyed_random`), so it is the same in every process, on every retry,
whatever order records are processed in. Types are drawn in :class:`ActivityType` order; for each
type the scenario's rule gives the probability of any, the count (capped per record; lifecycle
updates also by the stages left, deal-stage updates by the stages to walk plus the close), and a
delay per item:

* independent items (company, deal, note, call, task, ticket) are delayed from the record's time
  and numbered in time order;
* progressions (``lifecycle_update``, ``deal_stage_update``) are chains: each step is delayed from
  the previous one; deal-stage steps start from the deal's time and exist only if it has a deal.

A delayed time is then rolled forward to the calendar's next open hour (``business_hours``) and
rounded up to a slot (``snap_minutes``) — both only ever move it later, so no activity is ever
before its parent. An item at or past the window's end is **dropped** (with every later item of
its type), or with ``past_window: "clip"`` placed at the window's last millisecond. Budgets are
not applied here: the runtime applies them as it goes, the plan summary in index order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.model.calendar import OpenHours
from engine.model.rng import keyed_random
from engine.model.scenario import ActivityRule, ActivityType, Scenario

CHAINS = frozenset({ActivityType.LIFECYCLE_UPDATE, ActivityType.DEAL_STAGE_UPDATE})
MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class PlannedActivity:
    """Item ``ordinal`` (0-based, in time order) of type ``kind`` for one record, at ``at_ms``."""

    kind: ActivityType
    ordinal: int
    at_ms: int
    clipped: bool = False


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """Record ``index`` (at ``at_ms``) and its activities; ``past_window`` counts drops by type."""

    index: int
    at_ms: int
    activities: tuple[PlannedActivity, ...]
    past_window: Mapping[ActivityType, int] = field(default_factory=dict)

    def find(self, kind: ActivityType, ordinal: int) -> PlannedActivity | None:
        """The planned item ``(kind, ordinal)``, or None when the plan has no such item."""
        for activity in self.activities:
            if activity.kind is kind and activity.ordinal == ordinal:
                return activity
        return None


class ActivityPlanner:
    """Plans the activities of one simulation's records."""

    __slots__ = ("_end", "_limits", "_open", "_rules", "_seed", "_sim", "clip")

    def __init__(
        self,
        *,
        sim_id: int,
        seed: int,
        end_ms: int,
        scenario: Scenario,
        open_hours: OpenHours | None = None,
    ) -> None:
        self._sim = sim_id
        self._seed = seed
        self._end = end_ms
        self._open = open_hours
        self.clip = scenario.past_window == "clip"
        self._rules: tuple[tuple[ActivityType, ActivityRule], ...] = tuple(
            (kind, rule) for kind in ActivityType if (rule := scenario.rule(kind)) is not None
        )
        self._limits = {
            ActivityType.LIFECYCLE_UPDATE: len(scenario.lifecycle.stages) - 1,
            ActivityType.DEAL_STAGE_UPDATE: len(scenario.deals.stages),
        }

    def _adjust(self, at_ms: int, rule: ActivityRule) -> int:
        slot = rule.snap_minutes * MINUTE_MS
        open_hours = self._open if rule.business_hours else None
        # Rolling into open hours and snapping up to a slot both move later; a snap can leave the
        # open hours again (16:50 → 17:00 at closing), so repeat until both hold (twice at most
        # in practice: after a roll the time sits at an open hour's start plus its offset).
        for _ in range(4):
            if open_hours is not None:
                at_ms = open_hours.next_open(at_ms)
            if slot:
                at_ms = -(-at_ms // slot) * slot
            if open_hours is None or open_hours.next_open(at_ms) == at_ms:
                break
        return at_ms

    def plan(self, index: int, at_ms: int) -> RecordPlan:
        """The plan of record ``index`` created at ``at_ms`` (its scheduled time)."""
        rng = keyed_random(self._seed, f"{self._sim}:{index}")
        end = self._end
        planned: list[PlannedActivity] = []
        dropped: dict[ActivityType, int] = {}
        deal_at: int | None = None
        for kind, rule in self._rules:
            if rng.random() >= rule.probability:
                continue
            count = min(rule.count.sample(rng), rule.cap, self._limits.get(kind, rule.cap))
            anchor = at_ms
            if kind is ActivityType.DEAL_STAGE_UPDATE:
                if deal_at is None:
                    continue
                anchor = deal_at
            chain = kind in CHAINS
            times: list[int] = []
            previous = anchor
            for _ in range(count):
                previous = self._adjust(
                    (previous if chain else anchor) + rule.delay.sample_ms(rng), rule
                )
                times.append(previous)
            if not chain:
                times.sort()
            for ordinal, moment in enumerate(times):
                if moment >= end:
                    if not self.clip:
                        dropped[kind] = count - ordinal
                        break
                    planned.append(PlannedActivity(kind, ordinal, end - 1, clipped=True))
                else:
                    planned.append(PlannedActivity(kind, ordinal, moment))
            if kind is ActivityType.DEAL and planned and planned[-1].kind is kind:
                deal_at = next(a.at_ms for a in planned if a.kind is kind)
        return RecordPlan(index, at_ms, tuple(planned), dropped)
