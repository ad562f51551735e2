"""Reading Redis from the API, and what the API does when Redis is unreachable.

Redis holds live telemetry, the queue and the limiter (SPEC §7); the database holds definitions
and durable counters. When Redis does not answer, the API keeps serving: each reader here turns a
connection failure into :class:`RedisDown`, and the routes fall back to the store (``source:
"db"``) or answer empty (``source: "redis-disabled"``). The client is built to fail fast: a short
connect timeout and no retries, so a request never waits long on a dead server.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.redis_endpoint import connect_redis

log = structlog.get_logger()
T = TypeVar("T")

CONNECT_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 5.0
UNREACHABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    RedisClusterException,
    ConnectionError,
    TimeoutError,
    OSError,
)


class RedisDown(Exception):
    """Redis did not answer; the message names the error class only (never the URL)."""


def client_options() -> dict[str, Any]:
    """Options for the API's Redis client: fail fast, never retry behind the caller's back."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": COMMAND_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }


async def open_client(url: str) -> Any:
    """A client for ``url`` (a cluster client when Redis runs as a cluster).

    When Redis is down at start, a plain client is returned all the same: it connects on first use,
    so the API serves (degraded) until Redis comes back.
    """
    try:
        return await connect_redis(url, **client_options())
    except UNREACHABLE as exc:
        log.warning("redis_unreachable_at_start", error=type(exc).__name__)
        return Redis.from_url(url, **client_options())


async def live(operation: Awaitable[T]) -> T:
    """Await a Redis operation; a connection failure becomes :class:`RedisDown`."""
    try:
        return await operation
    except UNREACHABLE as exc:
        raise RedisDown(type(exc).__name__) from None
