"""Verify: a simulation's objects counted in its CRM account — duplicates and missing per type.

``GET`` only reads (searches and batch reads against the account, no writes); ``POST …/fix``
archives each key's extra objects and answers the same report with ``archived`` counts. Both are
for the simulation's owner and any boss, like its lifecycle routes. Counting uses HubSpot's search
(5 requests a second, 200 objects a request), so a large simulation takes a while to verify, and
objects written in the last minute may not be counted yet: search lags behind writes.
"""

from __future__ import annotations

from pydantic import Field

from api.access import sim_keys, visible_simulation
from api.appkeys import PORTALS, REDIS
from api.errors import BadGateway, Conflict, Unavailable
from api.live import RedisDown, live
from api.routing import Call, Reply, Routes
from api.schemas import Camel
from engine.crm import CrmError
from engine.simulations import IllegalAction, TargetUnavailable
from engine.simulations.verify import Verification, verify_simulation
from schema.simulations import SimulationStatus

routes = Routes("simulations")


class TypeCheckOut(Camel):
    object_type: str = Field(description="contacts, companies, deals, tickets, notes, calls, tasks")
    planned: int = Field(description="jobs scheduled to create objects of this type")
    created: int = Field(description="objects the run counted as created")
    in_crm: int = Field(description="live objects in the CRM carrying one of the run's keys")
    keys_in_crm: int = Field(description="distinct simcrm_key values among them")
    duplicates: int = Field(description="objects beyond the first for one key")
    duplicate_keys: list[str] = Field(description="some of the doubled keys (at most 20)")
    missing: int = Field(description="keys the run recorded as created that no live object has")
    missing_keys: list[str] = Field(description="some of the missing keys (at most 20)")
    unrecorded: int = Field(description="keys in the CRM the run holds no id for")
    archived: int = Field(description="extras archived by the fix (0 without it)")


class VerificationOut(Camel):
    simulation_id: int
    status: SimulationStatus
    ok: bool = Field(description="every recorded object is in the CRM exactly once")
    fixed: bool = Field(description="whether extras were archived by this call")
    duplicates: int = Field(description="duplicates found, all types")
    duplicates_left: int = Field(description="duplicates still there after the fix")
    missing: int
    types: list[TypeCheckOut]

    @classmethod
    def of(cls, result: Verification) -> VerificationOut:
        return cls(
            simulation_id=result.simulation_id,
            status=result.status,
            ok=result.ok,
            fixed=result.fixed,
            duplicates=result.duplicates,
            duplicates_left=result.duplicates_left,
            missing=result.missing,
            types=[
                TypeCheckOut(
                    object_type=t.object_type.path,
                    planned=t.planned,
                    created=t.created,
                    in_crm=t.in_crm,
                    keys_in_crm=t.keys_in_crm,
                    duplicates=t.duplicates,
                    duplicate_keys=list(t.duplicate_keys),
                    missing=t.missing,
                    missing_keys=list(t.missing_keys),
                    unrecorded=t.unrecorded,
                    archived=t.archived,
                )
                for t in result.types
            ],
        )


async def _verify(call: Call, *, fix: bool) -> Reply:
    app = call.request.app
    row = await visible_simulation(call, fresh=fix)
    try:
        target = await app[PORTALS].target(row)
        result = await live(
            verify_simulation(row, target.portal, app[REDIS], sim_keys(call, row.id), fix=fix)
        )
    except IllegalAction as exc:
        raise Conflict(str(exc), {"status": exc.status.value, "action": "verify/fix"}) from None
    except TargetUnavailable as exc:
        raise Conflict(str(exc), {"status": row.status.value}) from None
    except CrmError as exc:
        raise BadGateway(f"the CRM could not be searched: {exc}") from None
    except RedisDown:
        raise Unavailable("Redis is down: what the run recorded cannot be read now") from None
    return Reply(200, VerificationOut.of(result))


@routes.route(
    "GET",
    "/api/simulations/{id}/verify",
    summary="Count the simulation's objects in its CRM: duplicates and missing per type",
    responses={200: VerificationOut},
    errors=(409, 502, 503),
)
async def verify(call: Call) -> Reply:
    """Searches the account for every object carrying the simulation's id and groups them by
    simcrm_key; writes nothing. Objects written in the last minute may not be counted yet
    (HubSpot's search lags behind writes). 409 when the simulation's account cannot be used
    (no token)."""
    return await _verify(call, fix=False)


@routes.route(
    "POST",
    "/api/simulations/{id}/verify/fix",
    summary="Archive duplicate objects of an ended simulation (keeps one per key)",
    responses={200: VerificationOut},
    errors=(409, 502, 503),
)
async def verify_and_fix(call: Call) -> Reply:
    """Verifies as GET does, then archives each key's extra objects, keeping the one the run
    recorded (its updates and associations went there), else the oldest. 409 unless the
    simulation has ended (completed, cancelled or failed)."""
    return await _verify(call, fix=True)
