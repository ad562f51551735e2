"""Simulation definitions: every bad field is named; definitions survive the store unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engine.model.errors import DefinitionError
from engine.model.spec import SimulationInput, SimulationSpec
from schema.store import Store
from schema.users import Role
from tests.engine.model.helpers import BASE

BAD: list[tuple[dict[str, Any], str]] = [
    ({"end_time": "2025-03-01T00:00:00Z"}, "end_time"),
    ({"end_time": "2046-03-01T00:00:00Z"}, "end_time"),
    ({"total_records": 0}, "total_records"),
    ({"total_records": 10_000_001}, "total_records"),
    ({"scenario": "b2b_fintech"}, "scenario"),
    ({"distribution_method": "gaussian"}, "distribution_method"),
    ({"distribution_params": {"sigma": 0}}, "distribution_params.sigma"),
    (
        {"distribution_method": "bell", "distribution_params": {"sigma": 0}},
        "distribution_params.sigma",
    ),
    (
        {"distribution_method": "stages", "distribution_params": {"points": [[0, 1], [0.5, 1]]}},
        "distribution_params.points",
    ),
    (
        {"distribution_method": "stages", "distribution_params": {"points": [[0, 0], [1, 0]]}},
        "distribution_params.points",
    ),
    (
        {
            "distribution_method": "stages",
            "distribution_params": {"points": [[0, 5e-324], [1, 0]]},
        },
        "distribution_params.points",
    ),
    (
        {"distribution_method": "stages", "distribution_params": {"points": [[0, 1e308], [1, 1]]}},
        "distribution_params.points[0]",
    ),
    (
        {"distribution_method": "ramp_up", "distribution_params": {"start_rate": 1e308}},
        "distribution_params.start_rate",
    ),
    (
        {
            "distribution_method": "ramp_up",
            "distribution_params": {"start_rate": 1, "end_rate": 1e308},
        },
        "distribution_params.end_rate",
    ),
    (
        {"distribution_method": "ramp_down", "distribution_params": {"start_rate": -1}},
        "distribution_params.start_rate",
    ),
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    (
        {"scenario_overrides": {"activities": {"note": {"cap": 1, "kap": 2}}}},
        "scenario_overrides.activities.note.kap",
    ),
    (
        {"scenario_overrides": {"activities": {"meeting": {}}}},
        "scenario_overrides.activities.meeting",
    ),
    (
        {
            "scenario_overrides": {
                "activities": {"call": {"delay": {"kind": "exponential", "mean_hours": -1}}}
            }
        },
        "scenario_overrides.activities.call.delay.mean_hours",
    ),
    ({"scenario_overrides": {"name": "other"}}, "scenario_overrides.name"),
    ({"calendar": {"hours": [1] * 23}}, "calendar.hours"),
    ({"calendar": {"country": "XX"}}, "calendar.country"),
    (
        {
            "calendar": {"preset": "b2b", "weekdays": [0, 0, 0, 0, 0, 1, 1]},
            "start_time": "2025-03-03T12:00:00Z",
            "end_time": "2025-03-08T00:00:00Z",
        },
        "calendar",
    ),
    ({"total_records": "100"}, "total_records"),
    ({"total_records": True}, "total_records"),
    ({"total_records": 100.0}, "total_records"),
    ({"seed": -1}, "seed"),
    ({"seed": True}, "seed"),
    ({"time_scale": 0.5}, "time_scale"),
    ({"target": "salesforce"}, "target"),
    ({"owner": 3}, "owner"),
]


@pytest.mark.parametrize(("changes", "field"), BAD, ids=[f for _, f in BAD])
def test_bad_definitions_name_the_field(changes: dict[str, Any], field: str) -> None:
    """Each invalid value is refused with an error naming its field: as a DefinitionError from
    parse(), and as a pydantic error located at the top-level field from model_validate()."""
    body = {**BASE, **changes}
    with pytest.raises(DefinitionError) as caught:
        SimulationInput.parse(body)
    assert caught.value.field == field
    with pytest.raises(ValidationError) as raw:
        SimulationInput.model_validate(body)
    assert raw.value.errors()[0]["loc"][0] == field.split(".")[0]


def test_a_scenario_calendar_applies_unless_replaced() -> None:
    """An empty calendar means the scenario's (b2b for b2b_saas); {"preset": "none"} turns it
    off; an explicit calendar replaces it."""
    assert SimulationInput.parse(BASE).to_spec().calendar.preset == "b2b"
    off = SimulationInput.parse({**BASE, "calendar": {"preset": "none"}}).to_spec()
    assert not off.calendar.active
    own = SimulationInput.parse({**BASE, "calendar": {"preset": "b2c"}}).to_spec()
    assert own.calendar.preset == "b2c"


@pytest.mark.mysql
async def test_definitions_round_trip_through_the_store(store: Store) -> None:
    """A body stored with to_new_simulation and read back gives the same spec as the body
    itself, with the seed defaulting to the new id."""
    owner, _ = await store.users.create("planner@example.com", Role.MEMBER)
    body = SimulationInput.parse(
        {
            **BASE,
            "name": "spring push",
            "distribution_method": "stages",
            "distribution_params": {"points": [[0, 0], [0.5, 2.5], [1, 1]]},
            "calendar": {"preset": "b2b", "country": "US", "holiday_factor": 0.2},
            "scenario_overrides": {"activities": {"note": {"budget": 500}}},
            "time_scale": 60,
            "target": "hubspot",
        }
    )
    row = await store.simulations.create(body.to_new_simulation(owner.id))
    from_row = SimulationSpec.from_row(row)
    assert from_row.seed == row.id
    assert from_row == body.to_spec(row.id)
    assert SimulationInput.parse(from_row.definition()).to_spec(row.id) == from_row
