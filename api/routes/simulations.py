"""Simulations: create, list, read, and move through their lifecycle.

Creating and every status change go through the simulations service (engine.simulations), the
same code the demo, the runtime and the tests use. The daemons re-read statuses from the store
twice a second, so start, pause, resume and cancel take effect there and nothing more; an illegal
one (resuming a draft, pausing a completed simulation …) is a 409 naming the current status.
Members see and drive only their own simulations; a boss sees and drives everyone's.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel

from api.access import visible_simulation
from api.appkeys import SIMULATION_SERVICE, SIMULATIONS, STORE
from api.errors import Conflict, NotFound, field_error
from api.routing import Call, Reply, Routes
from engine.model import SimulationInput
from engine.simulations import (
    Action,
    IllegalAction,
    InvalidDefinition,
    MissingToken,
    PortalNotReady,
    SimulationNotFound,
    TargetUnavailable,
)
from schema.simulations import Simulation, SimulationStatus

routes = Routes("simulations")


class SimulationOut(RootModel[Simulation]):
    """A simulation as stored: its definition (the fields it was created with), status and
    timestamps. The schema follows the store's row, so it cannot drift from it."""

    @classmethod
    def of(cls, row: Simulation) -> SimulationOut:
        return cls(row)


class SimulationList(BaseModel):
    simulations: list[Simulation]
    next_before: int | None = Field(
        description="pass as `before` to get the next page; null on the last page"
    )


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=500, description="most simulations to return")
    before: int | None = Field(
        default=None, ge=1, le=2**62, description="only simulations with a smaller id"
    )
    status: SimulationStatus | None = Field(default=None, description="only this status")


@routes.route(
    "POST",
    "/api/simulations",
    summary="Create a simulation (a draft; start it to run it)",
    body=SimulationInput,
    responses={201: SimulationOut},
)
async def create_simulation(call: Call) -> Reply:
    """The body is validated as a whole (the calendar must leave arrivals inside the window …);
    the first problem is a 422 naming its field. The seed defaults to the new simulation's id."""
    body = call.body_as(SimulationInput)
    try:
        row = await call.request.app[SIMULATION_SERVICE].create(call.caller.id, body)
    except InvalidDefinition as exc:
        raise field_error(exc.field, exc.reason) from None
    return Reply(201, SimulationOut.of(row), {"Location": f"/api/simulations/{row.id}"})


@routes.route(
    "GET",
    "/api/simulations",
    summary="List simulations, newest first (a boss sees everyone's)",
    query=ListQuery,
    responses={200: SimulationList},
)
async def list_simulations(call: Call) -> Reply:
    query = call.query_as(ListQuery)
    rows = await call.request.app[STORE].simulations.list(
        owner_id=None if call.caller.is_boss else call.caller.id,
        statuses=frozenset({query.status}) if query.status else None,
        limit=query.limit + 1,
        before_id=query.before,
    )
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return Reply(
        200,
        SimulationList(
            simulations=page,
            next_before=page[-1].id if more else None,
        ),
    )


@routes.route(
    "GET",
    "/api/simulations/{id}",
    summary="Read one simulation",
    responses={200: SimulationOut},
)
async def get_simulation(call: Call) -> Reply:
    return Reply(200, SimulationOut.of(await visible_simulation(call)))


async def _act(call: Call, action: Action) -> Reply:
    """Take ``action`` through the simulations service; its refusals become 409s."""
    row = await visible_simulation(call)  # owners never change: a cached row answers who
    cache = call.request.app[SIMULATIONS]
    try:
        moved = await call.request.app[SIMULATION_SERVICE].act(row.id, action)
    except SimulationNotFound:
        raise NotFound(f"simulation {row.id} does not exist") from None
    except IllegalAction as exc:
        cache.put(exc.simulation.id, exc.simulation)
        raise Conflict(str(exc), {"status": exc.status.value, "action": action.value}) from None
    except PortalNotReady as exc:
        raise Conflict(
            str(exc),
            {
                "status": exc.simulation.status.value,
                "action": action.value,
                "problems": exc.problems,
            },
        ) from None
    except MissingToken as exc:
        status = (exc.simulation or row).status
        raise Conflict(
            "this simulation targets HubSpot but its owner stored no token: "
            "PUT /api/me/hubspot-token first",
            {"status": status.value, "action": action.value},
        ) from None
    except TargetUnavailable as exc:
        raise Conflict(str(exc), {"status": row.status.value, "action": action.value}) from None
    cache.put(moved.id, moved)
    return Reply(200, SimulationOut.of(moved))


def _lifecycle(action: Action, summary: str) -> None:
    async def handler(call: Call) -> Reply:
        return await _act(call, action)

    handler.__name__ = f"{action}_simulation"
    handler.__doc__ = f"409 when the simulation's status does not allow '{action}'."
    routes.route(
        "POST",
        f"/api/simulations/{{id}}/{action}",
        summary=summary,
        responses={200: SimulationOut},
        errors=(409,),
    )(handler)


_lifecycle(Action.START, "Start a draft simulation")
_lifecycle(Action.PAUSE, "Pause a running simulation (queued work waits)")
_lifecycle(Action.RESUME, "Resume a paused simulation")
_lifecycle(Action.CANCEL, "Cancel a simulation (queued work is dropped)")
