"""``create_app(settings)``: the aiohttp application, owning its store, Redis client and clients.

Each resource is one ``cleanup_ctx`` generator (opened before the app serves, closed after).
Redis being down at start does not stop the API: the client connects on first use, and endpoints
that need Redis degrade as SPEC §7 describes (see :mod:`api.live`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from importlib.metadata import version

import structlog
from aiohttp import web

from api import dashboard, headers, prometheus
from api.appkeys import (
    CLOCK,
    CLOCKS,
    HUBSPOT,
    LIMITER,
    MODELS,
    PORTALS,
    QUEUE,
    REDIS,
    REPLAY_LIMITER,
    SANDBOX,
    SETTINGS,
    SIMULATION_SERVICE,
    SIMULATIONS,
    STORE,
    USERS,
)
from api.auth import user_cache
from api.cache import TtlCache
from api.compute import ModelWorkers
from api.errors import ApiError, DatabaseUnavailable, PayloadTooLarge
from api.live import UNREACHABLE, open_client
from api.openapi import build_document
from api.plans import Models
from api.routes import deadletters, health, me, progress, simulations, tokens
from api.routing import Routes, json_response
from api.throttle import CallLimiter
from core.clock import Clock, SystemClock
from core.lua import Scripts, lua_folder
from engine.crm import HubSpotTransport
from engine.settings import Settings
from engine.simulations import Portals, Simulations
from limits import Limiter
from schema.db import UNAVAILABLE, unavailable_reason
from schema.store import Store
from streams import Queue

MAX_BODY_BYTES = 256 * 1024
SIMULATION_CACHE_S = 1.0  # how stale a simulation row read by another process may be
DATABASE_RETRY_AFTER_S = 5
ROUTE_TABLES: tuple[Routes, ...] = (
    health.routes,
    me.routes,
    tokens.routes,
    simulations.routes,
    progress.routes,
    deadletters.routes,
)

log = structlog.get_logger()

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error leaves as ``{"error": {"code", "message", "details"}}``; no tracebacks."""
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response(exc.status, exc.body(), headers=exc.headers or None)
    except UNAVAILABLE as exc:
        refusal = database_unavailable(request.app, exc)
        return json_response(refusal.status, refusal.body(), headers=refusal.headers)
    except web.HTTPRequestEntityTooLarge:
        error = PayloadTooLarge(f"the body must be at most {MAX_BODY_BYTES} bytes")
        return json_response(error.status, error.body())
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = "no such endpoint" if exc.status == 404 else exc.reason
        body = {"error": {"code": code, "message": message, "details": None}}
        return json_response(exc.status, body, headers=_allow_header(exc))
    except Exception:
        log.exception("api_unhandled_error", method=request.method, path=request.path)
        body = {"error": {"code": "internal_error", "message": "internal error", "details": None}}
        return json_response(500, body)


def database_unavailable(app: web.Application, exc: BaseException) -> DatabaseUnavailable:
    """The 503 for a database that is locked or unreachable: the request was not carried out
    (its transaction rolled back), and may be sent again."""
    name = app[STORE].name
    reason = unavailable_reason(exc)
    log.warning("database_unavailable", database=name, reason=reason, error=type(exc).__name__)
    return DatabaseUnavailable(
        f"the {name} is {reason}: the request was not carried out; try again later",
        {"database": name, "reason": reason},
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _allow_header(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None


def create_app(
    settings: Settings,
    *,
    redis_url: str,
    database_url: str | None = None,
    route_tables: Iterable[Routes] = ROUTE_TABLES,
    clock: Clock | None = None,
) -> web.Application:
    """Build the application. ``redis_url`` comes from ``redis_endpoint(settings)`` at the entry
    point; ``database_url`` defaults to the settings' database; ``clock`` (the system clock by
    default, a manual one in tests) times the limiters, the sandbox look-up's retries and the
    simulated clocks the API reports."""
    now = clock or SystemClock()
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app[CLOCK] = now
    workers = ModelWorkers(settings.api.model_workers)
    app[MODELS] = Models(workers)
    app[USERS] = user_cache()
    app[SIMULATIONS] = TtlCache(SIMULATION_CACHE_S)
    app[CLOCKS] = TtlCache(1.0, size=1_000)
    tables = tuple(route_tables)
    operations = [operation for table in tables for operation in table.operations]
    document = build_document(operations, version=version("simcrm"))

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        async with Store.open(
            database_url or settings.database.resolved_url(),
            timeout_ms=settings.database.timeout_ms,
        ) as store:
            app[STORE] = store
            app[SIMULATION_SERVICE] = Simulations.from_settings(settings, store)
            yield

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        client = await open_client(redis_url)
        app[REDIS] = client
        app[QUEUE] = Queue(client, settings.queue_config(), policies=settings.retries.policies())
        app[LIMITER] = Limiter(client, settings.limits.config(), clock=now)
        replay_scripts = Scripts(client, lua_folder("api"))
        app[REPLAY_LIMITER] = CallLimiter(
            replay_scripts, clock=now, key_prefix=settings.redis.key_prefix
        )
        # Scripts Redis refuses stop start-up; a Redis that is away is no reason to (calls use
        # EVALSHA with an EVAL fallback, so scripts reach it once it is back).
        try:
            for scripts in (app[QUEUE].scripts, replay_scripts):
                await scripts.load()
            await app[LIMITER].load()
        except UNREACHABLE as exc:
            log.warning("redis_scripts_not_loaded", error=type(exc).__name__)
        yield
        await client.aclose()

    async def crm_ctx(app: web.Application) -> AsyncIterator[None]:
        async with (
            HubSpotTransport.from_settings(settings, clock=now) as hubspot,
            HubSpotTransport.from_settings(
                settings, base_url=settings.runtime.sandbox_url, clock=now
            ) as sandbox,
        ):
            app[HUBSPOT] = hubspot
            app[SANDBOX] = sandbox
            app[PORTALS] = Portals.from_settings(
                settings, app[STORE], hubspot=hubspot, sandbox=sandbox, clock=now
            )
            yield

    async def workers_ctx(_app: web.Application) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(workers.close)

    async def openapi_json(_request: web.Request) -> web.Response:
        return json_response(200, document)

    app.cleanup_ctx.extend([store_ctx, redis_ctx, crm_ctx, workers_ctx])
    for table in tables:
        table.install(app)
    app.router.add_get("/api/openapi.json", openapi_json)
    if settings.observability.prometheus:
        prometheus.install(app)
    dashboard.install(app)
    headers.install(app)
    return app
