"""``GET /api/health``: whether Redis and the database answer; details for a boss.

200 when both answer; 503 with the same body when one does not, ``down`` naming which. Anyone may
ask, and learns only that: ``ok`` per dependency. A caller who sends a boss's API key also gets
each probe's latency and error, and the limiter state (burst window, buckets, 429 cooldown,
breaker) of every HubSpot account the API knows — the stored tokens' portals and the sandbox's —
while Redis answers. A key that is sent must be valid (401 otherwise); a member's key gets the
public answer.

The database probe takes the write lock and gives it back (:meth:`Store.probe_write`), so a
database another process holds locked shows as down, not only one that is unreachable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field

from api.appkeys import LIMITER, PORTALS, REDIS, SETTINGS, STORE, USERS
from api.auth import authenticate
from api.live import UNREACHABLE
from api.routing import Call, Reply, Routes
from api.schemas import LimiterView
from schema.db import UNAVAILABLE as UNAVAILABLE_DATABASE

routes = Routes("health")
PROBE_TIMEOUT_S = 2.0
PROBE_MARGIN_S = 1.0  # beyond the database's own timeout, so its error is the one reported


class Dependency(BaseModel):
    ok: bool
    latency_ms: float | None = Field(
        default=None, serialization_alias="latencyMs", description="for a boss only"
    )
    error: str | None = Field(default=None, description="for a boss only: what the probe raised")

    def public(self) -> Dependency:
        return Dependency(ok=self.ok)


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when a dependency is down")
    down: list[str] = Field(description="the dependencies that do not answer (redis, database)")
    redis: Dependency
    database: Dependency
    limits: list[LimiterView] | None = Field(
        default=None,
        description="for a boss only: per HubSpot account known, its limiter state",
    )


@routes.route(
    "GET",
    "/api/health",
    summary="Service health: Redis and the database (a boss also sees each account's limits)",
    auth="public",
    responses={200: Health, 503: Health},
    errors=(401,),
)
async def health(call: Call) -> Reply:
    """200 when every dependency answers, 503 (same body) when one does not."""
    app = call.request.app
    boss = await _is_boss(call)
    database_wait = app[SETTINGS].database.timeout_ms / 1000 + PROBE_MARGIN_S
    redis, database = await asyncio.gather(
        _probe(lambda: app[REDIS].ping(), PROBE_TIMEOUT_S),
        _probe(app[STORE].probe_write, max(PROBE_TIMEOUT_S, database_wait)),
    )
    down = [name for name, dep in (("redis", redis), ("database", database)) if not dep.ok]
    status = "degraded" if down else "ok"
    if not boss:
        body = Health(status=status, down=down, redis=redis.public(), database=database.public())
        return Reply(503 if down else 200, body)
    limits = [] if down else await _limits(call)
    body = Health(status=status, down=down, redis=redis, database=database, limits=limits)
    return Reply(503 if down else 200, body)


async def _is_boss(call: Call) -> bool:
    """Whether the caller sent a boss's key; a key sent must be valid. With the database down a
    key cannot be checked, and the public answer is given."""
    request = call.request
    if "Authorization" not in request.headers:
        return False
    try:
        user = await authenticate(request, request.app[STORE], request.app[USERS])
    except UNAVAILABLE_DATABASE:
        return False
    return user.is_boss


async def _limits(call: Call) -> list[LimiterView]:
    app = call.request.app
    views = []
    for portal in await app[PORTALS].known():
        try:
            views.append(LimiterView.of(await app[LIMITER].state(portal)))
        except UNREACHABLE:
            break
    return views


async def _probe(check: Callable[[], Awaitable[object]], timeout_s: float) -> Dependency:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=timeout_s)
    except Exception as exc:
        return Dependency(ok=False, error=type(exc).__name__)
    return Dependency(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))
