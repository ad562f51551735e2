"""``create_app(settings)``: the aiohttp application, owning its store and Redis client.

Each resource is one ``cleanup_ctx`` generator (opened before the app serves, closed after).
Redis being down at start does not stop the API: the client reconnects on its own, and endpoints
that need Redis degrade as SPEC §7 describes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from importlib.metadata import version

import structlog
from aiohttp import web
from redis.asyncio import Redis

from api.appkeys import HUBSPOT, REDIS, SETTINGS, STORE
from api.errors import ApiError, PayloadTooLarge
from api.openapi import build_document
from api.routes import health, tokens
from api.routing import Routes, json_response
from engine.crm.transport import HubSpotClient
from engine.redis_endpoint import connect_redis
from engine.settings import Settings
from schema.store import Store

MAX_BODY_BYTES = 256 * 1024
ROUTE_TABLES: tuple[Routes, ...] = (health.routes, tokens.routes)

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
        return json_response(exc.status, exc.body())
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


def _allow_header(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None


def create_app(
    settings: Settings,
    *,
    redis_url: str,
    database_url: str | None = None,
    route_tables: Iterable[Routes] = ROUTE_TABLES,
) -> web.Application:
    """Build the application. ``redis_url`` comes from ``redis_endpoint(settings)`` at the entry
    point; ``database_url`` defaults to the settings' database."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    tables = tuple(route_tables)
    operations = [operation for table in tables for operation in table.operations]
    document = build_document(operations, version=version("simcrm"))

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        async with Store.open(database_url or settings.resolved_database_url()) as store:
            app[STORE] = store
            yield

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        try:
            client = await connect_redis(redis_url)
        except Exception as exc:
            log.warning("redis_unreachable_at_start", error=type(exc).__name__)
            client = Redis.from_url(redis_url)
        app[REDIS] = client
        yield
        await client.aclose()

    async def hubspot_ctx(app: web.Application) -> AsyncIterator[None]:
        async with HubSpotClient.from_settings(settings) as client:
            app[HUBSPOT] = client
            yield

    async def openapi_json(_request: web.Request) -> web.Response:
        return json_response(200, document)

    app.cleanup_ctx.extend([store_ctx, redis_ctx, hubspot_ctx])
    for table in tables:
        table.install(app)
    app.router.add_get("/api/openapi.json", openapi_json)
    return app
