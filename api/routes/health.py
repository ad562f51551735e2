"""``GET /api/health``: is Redis up, is the database up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field

from api.appkeys import REDIS, STORE
from api.routing import Call, Reply, Routes

routes = Routes("health")


class Dependency(BaseModel):
    ok: bool
    latency_ms: float | None = Field(default=None, serialization_alias="latencyMs")
    error: str | None = None


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when a dependency is down")
    redis: Dependency
    database: Dependency


@routes.route(
    "GET",
    "/api/health",
    summary="Service health: Redis and the database",
    auth="public",
    responses={200: Health, 503: Health},
)
async def health(call: Call) -> Reply:
    """200 when every dependency answers, 503 (same body) when one does not."""
    app = call.request.app
    redis = await _probe(lambda: app[REDIS].ping())
    database = await _probe(app[STORE].ping)
    healthy = redis.ok and database.ok
    body = Health(status="ok" if healthy else "degraded", redis=redis, database=database)
    return Reply(200 if healthy else 503, body)


async def _probe(check: Callable[[], Awaitable[object]]) -> Dependency:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=2.0)
    except Exception as exc:
        return Dependency(ok=False, error=type(exc).__name__)
    return Dependency(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))
