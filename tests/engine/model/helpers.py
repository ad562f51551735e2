"""Small builders shared by the model tests."""

from __future__ import annotations

from typing import Any

from engine.model.model import SimulationModel
from engine.model.spec import SimulationInput, SimulationSpec

BASE: dict[str, Any] = {
    "scenario": "b2b_saas",
    "start_time": "2025-03-03T00:00:00Z",
    "end_time": "2025-03-17T00:00:00Z",
    "total_records": 1000,
    "distribution_method": "uniform",
    "timezone": "America/New_York",
}


def spec(sim_id: int = 7, **changes: Any) -> SimulationSpec:
    """A validated spec: BASE with ``changes``."""
    return SimulationInput.parse({**BASE, **changes}).to_spec(sim_id)


def model(sim_id: int = 7, **changes: Any) -> SimulationModel:
    return SimulationModel(spec(sim_id, **changes))
