"""The API refuses to start on a shard count other than the queue's, and registers itself as a
user of the queue while it runs (so a reshard waits for it)."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from api.app import create_app
from api.server import start_server
from core.keys import DEFAULT_KEY_PREFIX
from streams.errors import ShardCountMismatch
from tests.api.conftest import ClientFactory, api_settings, make_users


async def test_the_api_refuses_a_mismatched_shard_count(
    aiohttp_client: ClientFactory, database_file: str, redis_url: str, redis: Redis
) -> None:
    """With 2 shards stored by the daemons, an API on the default 1 does not start, and says
    which count to use; on 2 it starts and is listed as a member of the queue."""
    await make_users(database_file)
    await redis.set(f"{DEFAULT_KEY_PREFIX}:queue:shards", 2)
    with pytest.raises(ShardCountMismatch, match=r"has 2 shard\(s\).*started with 1"):
        await start_server(api_settings(), redis_url=redis_url, database_url=database_file)
    assert await redis.zcard(f"{DEFAULT_KEY_PREFIX}:queue:members") == 0

    good = create_app(
        api_settings(SIMCRM_QUEUE_SHARDS=2), redis_url=redis_url, database_url=database_file
    )
    client = await aiohttp_client(good)
    members: Any = await redis.zrange(f"{DEFAULT_KEY_PREFIX}:queue:members", 0, -1)
    assert [m.decode().split(":")[0] for m in members] == ["api"]
    await client.close()
    assert await redis.zcard(f"{DEFAULT_KEY_PREFIX}:queue:members") == 0
