"""Each test process works in a Redis database of its own, whatever database the URL named."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tests.conftest import TEST_REDIS_DB, XDIST_WORKER
from tests.support.redis_databases import (
    TooManyWorkersError,
    with_database,
    worker_database,
    worker_number,
)


def test_workers_count_down_from_the_base() -> None:
    """A plain run uses the base; gw0, gw1, gw2 use base, base-1, base-2; running out of
    databases is an error that says what to change."""
    assert worker_database(None) == 15
    assert [worker_database(f"gw{n}", 15) for n in range(3)] == [15, 14, 13]
    assert worker_number("gw11") == 11
    with pytest.raises(TooManyWorkersError, match="run fewer workers"):
        worker_database("gw16", 15)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/14"),
        ("rediss://:p%40ss@cache:6380/2?db=2&ssl_cert_reqs=none",
         "rediss://:p%40ss@cache:6380/14?ssl_cert_reqs=none"),
        ("unix:///tmp/simcrm-redis-x/redis.sock?db=15", "unix:///tmp/simcrm-redis-x/redis.sock?db=14"),
    ],
)  # fmt: skip
def test_the_database_in_the_url_is_replaced(url: str, expected: str) -> None:
    """TCP URLs get the database as their path (a ``db`` parameter, which redis-py would prefer,
    is dropped); socket URLs as their ``db`` parameter; passwords and options are kept."""
    assert with_database(url, 14) == expected


async def test_the_redis_fixture_works_in_this_workers_database(redis: Redis) -> None:
    """The client the tests use is connected to this worker's database and nothing else."""
    assert (await redis.client_info())["db"] == worker_database(XDIST_WORKER, TEST_REDIS_DB)
