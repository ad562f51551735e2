"""Who may see a simulation: its owner, and any boss. To anyone else it does not exist (404).

Rows are read through a one-second cache (polling clients ask many times a second); a status change
made through this process replaces its entry at once, one made elsewhere (a daemon completing the
run, another API process) is seen within the second.
"""

from __future__ import annotations

from api.appkeys import SETTINGS, SIMULATIONS, STORE
from api.errors import NotFound
from api.routing import Call
from engine.runtime.keys import SimKeys
from schema.errors import NotFound as StoreNotFound
from schema.simulations import Simulation


async def visible_simulation(call: Call, name: str = "id", *, fresh: bool = False) -> Simulation:
    """The simulation named by path parameter ``name``, if the caller may see it (``fresh``:
    read from the store, not the cache — before changing it).

    Raises:
        NotFound: no such simulation, or it belongs to someone else and the caller is no boss
            (the two answers are identical, so ids of other users' simulations leak nothing).
    """
    sim_id = call.path_int(name)
    cache = call.request.app[SIMULATIONS]
    store = call.request.app[STORE]

    async def read() -> Simulation | None:
        try:
            return await store.simulations.get(sim_id)
        except StoreNotFound:
            return None

    if fresh:
        row = await read()
        if row is not None:
            cache.put(sim_id, row)
    else:
        row = await cache.load(sim_id, read)
    if row is None or not (call.caller.is_boss or row.owner_id == call.caller.id):
        raise NotFound(f"simulation {sim_id} does not exist")
    return row


def sim_keys(call: Call, sim_id: int) -> SimKeys:
    """The runtime's Redis keys of a simulation, under this deployment's SIMCRM_KEY_PREFIX."""
    return SimKeys(sim_id, call.request.app[SETTINGS].redis.key_prefix)
