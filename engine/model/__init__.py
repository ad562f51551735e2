"""The simulation model: pure functions of a simulation's definition and a record index.

No Redis, no HTTP, no database: everything here is computed, never stored.

* :class:`SimulationInput` validates a body (API, file, flags) naming the field at fault;
  ``to_new_simulation(owner_id)`` makes the store's row, ``to_spec(sim_id)`` the frozen
  :class:`SimulationSpec`, which ``SimulationSpec.from_row(row)`` rebuilds from a stored row.
* :class:`SimulationModel` (one per simulation) answers ``time_of(i)``, ``index_range(t0, t1)``,
  ``segment(n)``, ``contact(i)``, ``plan(i)`` (a :class:`RecordPlan` of
  :class:`PlannedActivity`), ``activity_properties(i, activity)`` and ``write_of(kind)``.
* :func:`summarize` and :func:`export_plan` are the dry run behind ``simcrm sim plan``.

Module map: ``shapes`` (densities), ``methods`` (names and parameters), ``grid`` and
``calendar`` (hourly buckets and weights), ``profile`` (shape × calendar), ``schedule`` and
``order_stats`` (record times), ``scenario`` and ``draws`` (scenario data), ``pools``,
``records`` and ``engagements`` (properties), ``activities`` (plans), ``budgets``, ``objects``
(HubSpot object types and associations), ``capacity`` (requests per tier), ``plan`` and
``export`` (the dry run), ``spec`` (definitions), ``rng`` (keyed randomness), ``errors``.
"""

from engine.model.activities import PlannedActivity, RecordPlan
from engine.model.budgets import BudgetLedger
from engine.model.capacity import LoadEstimate
from engine.model.errors import DefinitionError, ModelError
from engine.model.export import export_plan
from engine.model.methods import DistributionMethod
from engine.model.model import SimulationModel
from engine.model.objects import WRITES, ObjectWrite, object_key
from engine.model.plan import PlanSummary, summarize
from engine.model.scenario import SCENARIO_NAMES, ActivityType, Scenario, load_scenario
from engine.model.schedule import DEFAULT_SEGMENT_MS, Schedule, Segment
from engine.model.spec import SimulationInput, SimulationSpec

__all__ = [
    "DEFAULT_SEGMENT_MS",
    "SCENARIO_NAMES",
    "WRITES",
    "ActivityType",
    "BudgetLedger",
    "DefinitionError",
    "DistributionMethod",
    "LoadEstimate",
    "ModelError",
    "ObjectWrite",
    "PlanSummary",
    "PlannedActivity",
    "RecordPlan",
    "Scenario",
    "Schedule",
    "Segment",
    "SimulationInput",
    "SimulationModel",
    "SimulationSpec",
    "export_plan",
    "load_scenario",
    "object_key",
    "summarize",
]
