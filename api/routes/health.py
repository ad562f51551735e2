"""``GET /api/health``: Redis, the database, and the limits of every HubSpot account known.

200 when Redis and the database answer; 503 with the same body when one does not, ``down`` naming
which. Limiter state (burst window, buckets, 429 cooldown, breaker) is read for each account the
API knows of — the stored tokens' portals and the sandbox's — while Redis answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field

from api.appkeys import LIMITER, PORTALS, REDIS, STORE
from api.live import UNREACHABLE
from api.routing import Call, Reply, Routes
from api.schemas import LimiterView

routes = Routes("health")
PROBE_TIMEOUT_S = 2.0


class Dependency(BaseModel):
    ok: bool
    latency_ms: float | None = Field(default=None, serialization_alias="latencyMs")
    error: str | None = None


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when a dependency is down")
    down: list[str] = Field(description="the dependencies that do not answer (redis, database)")
    redis: Dependency
    database: Dependency
    limits: list[LimiterView] = Field(description="per HubSpot account known, its limiter state")


@routes.route(
    "GET",
    "/api/health",
    summary="Service health: Redis, the database, and each account's rate-limit state",
    auth="public",
    responses={200: Health, 503: Health},
)
async def health(call: Call) -> Reply:
    """200 when every dependency answers, 503 (same body) when one does not."""
    app = call.request.app
    redis, database = await asyncio.gather(
        _probe(lambda: app[REDIS].ping()), _probe(app[STORE].ping)
    )
    down = [name for name, dep in (("redis", redis), ("database", database)) if not dep.ok]
    limits: list[LimiterView] = []
    if not down:
        limits = await _limits(call)
    body = Health(
        status="degraded" if down else "ok",
        down=down,
        redis=redis,
        database=database,
        limits=limits,
    )
    return Reply(503 if down else 200, body)


async def _limits(call: Call) -> list[LimiterView]:
    app = call.request.app
    views = []
    for portal in await app[PORTALS].known():
        try:
            views.append(LimiterView.of(await app[LIMITER].state(portal)))
        except UNREACHABLE:
            break
    return views


async def _probe(check: Callable[[], Awaitable[object]]) -> Dependency:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=PROBE_TIMEOUT_S)
    except Exception as exc:
        return Dependency(ok=False, error=type(exc).__name__)
    return Dependency(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))
