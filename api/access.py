"""Who may see a simulation: its owner, and any boss. To anyone else it does not exist (404)."""

from __future__ import annotations

from api.appkeys import STORE
from api.errors import NotFound
from api.routing import Call
from schema.errors import NotFound as StoreNotFound
from schema.simulations import Simulation


async def visible_simulation(call: Call, name: str = "id") -> Simulation:
    """The simulation named by path parameter ``name``, if the caller may see it.

    Raises:
        NotFound: no such simulation, or it belongs to someone else and the caller is no boss
            (the two answers are identical, so ids of other users' simulations leak nothing).
    """
    sim_id = call.path_int(name)
    try:
        row = await call.request.app[STORE].simulations.get(sim_id)
    except StoreNotFound:
        row = None
    if row is None or not (call.caller.is_boss or row.owner_id == call.caller.id):
        raise NotFound(f"simulation {sim_id} does not exist")
    return row
