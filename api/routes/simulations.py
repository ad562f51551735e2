"""Simulations: create, list, read, and move through their lifecycle.

The daemons re-read statuses from the store twice a second, so start, pause, resume and cancel
are store transitions and nothing more; an illegal one (resuming a draft, pausing a completed
simulation …) is a 409 naming the current status. Members see and drive only their own
simulations; a boss sees and drives everyone's.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from api.access import visible_simulation
from api.appkeys import SETTINGS, SIMULATIONS, STORE
from api.errors import Conflict, field_error
from api.routing import Call, Reply, Routes
from engine.model import DefinitionError, SimulationInput
from schema.errors import IllegalTransition
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
        await asyncio.to_thread(body.to_spec, 0)
    except DefinitionError as exc:
        raise field_error(exc.field, exc.reason) from None
    row = await call.request.app[STORE].simulations.create(body.to_new_simulation(call.caller.id))
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


Action = Literal["start", "pause", "resume", "cancel"]

# Each action: the statuses it may be taken from, and the status it leads to.
ACTIONS: dict[str, tuple[frozenset[SimulationStatus], SimulationStatus]] = {
    "start": (frozenset({SimulationStatus.DRAFT}), SimulationStatus.RUNNING),
    "pause": (frozenset({SimulationStatus.RUNNING}), SimulationStatus.PAUSED),
    "resume": (frozenset({SimulationStatus.PAUSED}), SimulationStatus.RUNNING),
    "cancel": (
        frozenset({SimulationStatus.DRAFT, SimulationStatus.RUNNING, SimulationStatus.PAUSED}),
        SimulationStatus.CANCELLED,
    ),
}


async def _act(call: Call, action: Action) -> Reply:
    row = await visible_simulation(call, fresh=True)
    allowed, target = ACTIONS[action]
    if row.status not in allowed:
        raise _illegal(row, action, allowed)
    if action == "start" and row.target == "hubspot":
        await _require_hubspot_token(call, row)
    cache = call.request.app[SIMULATIONS]
    try:
        moved = await call.request.app[STORE].simulations.transition(row.id, target)
    except IllegalTransition as exc:
        raise _illegal(
            await visible_simulation(call, fresh=True), action, allowed, str(exc)
        ) from None
    cache.put(moved.id, moved)
    return Reply(200, SimulationOut.of(moved))


def _illegal(
    row: Simulation, action: str, allowed: frozenset[SimulationStatus], message: str | None = None
) -> Conflict:
    sources = ", ".join(sorted(status.value for status in allowed))
    return Conflict(
        message or f"simulation {row.id} is {row.status.value}: only a {sources} one can {action}",
        {"status": row.status.value, "action": action},
    )


async def _require_hubspot_token(call: Call, row: Simulation) -> None:
    """A ``hubspot`` simulation needs its owner's stored token (or the legacy global one)."""
    settings = call.request.app[SETTINGS]
    if settings.hubspot_api_token is not None:
        return
    if await call.request.app[STORE].credentials.info(row.owner_id) is None:
        raise Conflict(
            "this simulation targets HubSpot but its owner stored no token: "
            "PUT /api/me/hubspot-token first",
            {"status": row.status.value, "action": "start"},
        )


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


_lifecycle("start", "Start a draft simulation")
_lifecycle("pause", "Pause a running simulation (queued work waits)")
_lifecycle("resume", "Resume a paused simulation")
_lifecycle("cancel", "Cancel a simulation (queued work is dropped)")
