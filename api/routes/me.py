"""``GET /api/me`` (who the API key belongs to) and ``GET /api/catalog`` (what can be chosen).

The dashboard signs in with the first and fills its form from the second, so its choices are
always the server's.
"""

from __future__ import annotations

from pydantic import Field

from api.routing import Call, Reply, Routes
from api.schemas import Camel
from engine.model import SCENARIO_NAMES, DistributionMethod
from engine.runtime.outcomes import DeadLetterCategory
from schema.users import Role

routes = Routes("me")


class MeOut(Camel):
    id: int
    email: str
    role: Role


@routes.route("GET", "/api/me", summary="The caller's identity and role", responses={200: MeOut})
async def me(call: Call) -> Reply:
    user = call.caller
    return Reply(200, MeOut(id=user.id, email=user.email, role=user.role))


class CatalogOut(Camel):
    scenarios: list[str]
    distributions: list[str]
    targets: list[str]
    categories: list[str] = Field(description="dead-letter categories")


@routes.route(
    "GET",
    "/api/catalog",
    summary="Scenarios, distributions, targets and dead-letter categories",
    responses={200: CatalogOut},
)
async def catalog(call: Call) -> Reply:
    return Reply(
        200,
        CatalogOut(
            scenarios=list(SCENARIO_NAMES),
            distributions=[method.value for method in DistributionMethod],
            targets=["sandbox", "hubspot"],
            categories=[category.value for category in DeadLetterCategory],
        ),
    )
