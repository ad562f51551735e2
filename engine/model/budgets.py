"""Simulation-wide budgets applied to record plans in index order (the plan's view of them).

The runtime enforces budgets as records are processed (``HINCRBY`` on a budget hash); records are
processed in roughly index order, so applying them here in index order predicts what it will do.
A deal-stage update is kept only if its record's deal was kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.model.activities import PlannedActivity, RecordPlan
from engine.model.scenario import ActivityType, Scenario


class BudgetLedger:
    """Remaining budget per activity type; ``admit`` splits a plan into kept and over budget."""

    __slots__ = ("remaining",)

    def __init__(self, scenario: Scenario) -> None:
        self.remaining: dict[ActivityType, int] = {
            kind: rule.budget
            for kind, rule in scenario.activities.items()
            if rule.budget is not None
        }

    def admit(self, plan: RecordPlan) -> tuple[list[PlannedActivity], list[PlannedActivity]]:
        """The plan's activities within budget, and those over it (budgets are consumed)."""
        kept: list[PlannedActivity] = []
        refused: list[PlannedActivity] = []
        deal_kept = False
        remaining = self.remaining
        for activity in plan.activities:
            kind = activity.kind
            allowed = kind is not ActivityType.DEAL_STAGE_UPDATE or deal_kept
            left = remaining.get(kind)
            if allowed and left is not None:
                allowed = left > 0
                if allowed:
                    remaining[kind] = left - 1
            if allowed:
                kept.append(activity)
                deal_kept = deal_kept or kind is ActivityType.DEAL
            else:
                refused.append(activity)
        return kept, refused


def budgets(scenario: Scenario) -> Mapping[ActivityType, int | None]:
    """Every planned type's budget (None: unlimited)."""
    return {kind: rule.budget for kind in ActivityType if (rule := scenario.rule(kind)) is not None}
