"""Activity plans: keyed per record, after their parent, inside the window, budgets in order."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.activities import CHAINS
from engine.model.budgets import BudgetLedger
from engine.model.model import SimulationModel
from engine.model.scenario import SCENARIO_NAMES, ActivityType
from tests.engine.model.helpers import model

MODELS = {
    (name, past): model(scenario=name, scenario_overrides={"past_window": past})
    for name in SCENARIO_NAMES
    for past in ("drop", "clip")
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(MODELS)),
    index=st.integers(0, 999),
)
def test_activities_follow_their_parent_and_stay_in_the_window(
    key: tuple[str, str], index: int
) -> None:
    """For every scenario and policy: each activity is at or after its record's time (deal-stage
    steps at or after the deal's), before the window's end, numbered in time order; progressions
    never go back in time; business-hours types land in open hours."""
    sim = MODELS[key]
    plan = sim.plan(index)
    assert plan.at_ms == sim.time_of(index)
    deal = plan.find(ActivityType.DEAL, 0)
    by_kind: dict[ActivityType, list[int]] = {}
    for activity in plan.activities:
        parent = (
            deal.at_ms if activity.kind is ActivityType.DEAL_STAGE_UPDATE and deal else (plan.at_ms)
        )
        assert parent <= activity.at_ms < sim.spec.end_ms
        assert activity.clipped == (key[1] == "clip" and activity.at_ms == sim.spec.end_ms - 1)
        by_kind.setdefault(activity.kind, []).append(activity.at_ms)
        assert activity.ordinal == len(by_kind[activity.kind]) - 1
    for kind, times in by_kind.items():
        assert times == sorted(times), kind
    if ActivityType.DEAL_STAGE_UPDATE in by_kind:
        assert deal is not None
    if key[1] == "clip":
        assert not plan.past_window


def test_plans_are_keyed_by_record_not_by_order() -> None:
    """A record's plan is the same whatever was planned before it, and differs between records."""
    first = MODELS[("b2b_saas", "drop")]
    again = model(scenario="b2b_saas", scenario_overrides={"past_window": "drop"})
    forward = [first.plan(i) for i in range(200)]
    backward = [again.plan(i) for i in reversed(range(200))][::-1]
    assert forward == backward
    assert len({p.activities for p in forward}) > 150


def test_another_simulation_id_plans_differently() -> None:
    """The key includes the simulation id: two simulations with one seed do not mirror each
    other's activities."""
    one = model(sim_id=1, seed=42)
    two = model(sim_id=2, seed=42)
    assert one.time_of(10) == two.time_of(10)
    assert [one.plan(i).activities for i in range(50)] != [
        two.plan(i).activities for i in range(50)
    ]


def test_budgets_are_spent_in_index_order() -> None:
    """With a budget of 25 notes, the plan keeps notes of the earliest records until 25 are
    kept, refuses every later one, and drops deal-stage steps whose deal was refused."""
    sim = model(
        scenario_overrides={"activities": {"note": {"budget": 25}, "deal": {"budget": 3}}},
    )
    ledger = BudgetLedger(sim.spec.scenario)
    kept_notes = 0
    refused_after: list[int] = []
    for index in range(300):
        plan = sim.plan(index)
        kept, refused = ledger.admit(plan)
        kept_notes += sum(a.kind is ActivityType.NOTE for a in kept)
        refused_after += [index for a in refused if a.kind is ActivityType.NOTE]
        deals = [a for a in kept if a.kind is ActivityType.DEAL]
        steps = [a for a in kept if a.kind is ActivityType.DEAL_STAGE_UPDATE]
        assert not steps or deals
    assert kept_notes == 25
    assert refused_after
    assert ledger.remaining[ActivityType.NOTE] == 0


def test_business_hours_activities_land_in_open_hours() -> None:
    """Calls and tasks of b2b_saas are rolled forward into open hours of the b2b calendar."""
    sim = MODELS[("b2b_saas", "drop")]
    assert sim.calendar is not None
    grid, open_hours = sim.calendar.grid, sim.calendar.open
    from bisect import bisect_right

    checked = 0
    for index in range(400):
        for activity in sim.plan(index).activities:
            if activity.kind in (ActivityType.CALL, ActivityType.TASK):
                assert open_hours[bisect_right(grid.bounds, activity.at_ms) - 1]
                checked += 1
    assert checked > 100


def test_progressions_walk_the_stages_in_order() -> None:
    """Lifecycle steps name the next stages in order; the last deal step closes it with a
    closedate equal to the step's time."""
    sim = model(
        end_time="2025-09-01T00:00:00Z",
        scenario_overrides={
            "activities": {"deal": {"probability": 1.0}, "deal_stage_update": {"probability": 1.0}}
        },
    )
    stages = sim.spec.scenario.lifecycle.stages
    closed = 0
    for index in range(200):
        plan = sim.plan(index)
        steps = [a for a in plan.activities if a.kind is ActivityType.LIFECYCLE_UPDATE]
        names = [sim.activity_properties(index, a)["lifecyclestage"] for a in steps]
        assert names == list(stages[1 : 1 + len(names)])
        for step in (a for a in plan.activities if a.kind is ActivityType.DEAL_STAGE_UPDATE):
            properties = sim.activity_properties(index, step)
            if "closedate" in properties:
                closed += 1
                assert properties["closedate"] == str(step.at_ms)
                assert properties["dealstage"] in ("closedwon", "closedlost")
    assert closed > 0
    assert ActivityType.LIFECYCLE_UPDATE in CHAINS


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_engagements_carry_hubspot_properties(scenario: str) -> None:
    """Notes, calls and tasks carry hs_timestamp = their time; creates carry the audit
    properties; every value is a string; simcrm_key is unique across everything planned."""
    sim: SimulationModel = model(scenario=scenario)
    keys: set[str] = set()
    for index in range(300):
        contact = sim.contact(index)
        keys.add(contact["simcrm_key"])
        for activity in sim.plan(index).activities:
            properties = sim.activity_properties(index, activity)
            assert all(isinstance(v, str) for v in properties.values())
            if activity.kind in (ActivityType.NOTE, ActivityType.CALL, ActivityType.TASK):
                assert properties["hs_timestamp"] == str(activity.at_ms)
            if sim.write_of(activity.kind).operation == "create":
                assert properties["simcrm_record_index"] == str(index)
                assert properties["simcrm_simulated_at"] == str(activity.at_ms)
                assert properties["simcrm_key"] not in keys
                keys.add(properties["simcrm_key"])
            else:
                assert "simcrm_key" not in properties
