"""The connections an operator command needs, opened and closed around its work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from engine.redis_endpoint import connect_redis, redis_endpoint
from engine.settings import Settings


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Any]:
    """A client of the deployment's Redis (REDIS_URL, else a local server, else an embedded
    one), closed on leaving."""
    with redis_endpoint(settings) as endpoint:
        client = await connect_redis(endpoint.url)
        try:
            yield client
        finally:
            await client.aclose()
