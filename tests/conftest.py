"""Shared fixtures: real SQLite and MariaDB stores, and a real Redis found by the project's helper.

MariaDB is at ``SIMCRM_TEST_MYSQL_URL`` (default ``mysql+asyncmy://root@127.0.0.1:3306``); each test
session (each pytest-xdist worker) works in a database of its own, dropped at the end. When it
cannot be reached the MySQL half of the store tests is skipped, unless
``SIMCRM_TEST_REQUIRE_MYSQL=1`` (set by ``.ci/run``), which turns that into a failure.

Redis state is per worker too: see :mod:`tests.support.redis_databases`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import structlog
from redis.asyncio import Redis
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from engine.redis_endpoint import RedisEndpoint, redis_endpoint
from engine.settings import load_settings
from schema.store import Store
from schema.tables import metadata
from tests.support.redis_databases import with_database, worker_database
from tests.support.servers import RedisClusterServers, RedisServer

MYSQL_SERVER_URL = os.environ.get("SIMCRM_TEST_MYSQL_URL", "mysql+asyncmy://root@127.0.0.1:3306")
REQUIRE_MYSQL = os.environ.get("SIMCRM_TEST_REQUIRE_MYSQL") == "1"
TEST_REDIS_DB = int(os.environ.get("SIMCRM_TEST_REDIS_DB", "15"))
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
T = TypeVar("T")
pytest_plugins = ("tests.support.sandboxes",)


def run_blocking(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a loop of its own, even from inside a running loop.

    Session fixtures use it: they may be first requested from an async test's own loop.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def _mysql_admin(statement: str) -> None:
    engine = create_async_engine(MYSQL_SERVER_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


class MySQLServer:
    """Creates throwaway databases on the test MariaDB and drops them at the end."""

    def __init__(self) -> None:
        self.databases: list[str] = []

    def new_database(self) -> str:
        name = f"simcrm_test_{uuid.uuid4().hex[:12]}"
        run_blocking(lambda: _mysql_admin(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        self.databases.append(name)
        return make_url(MYSQL_SERVER_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.databases:
            statement = f"DROP DATABASE IF EXISTS {name}"
            run_blocking(lambda: _mysql_admin(statement))  # noqa: B023 - runs before the next turn


@pytest.fixture(autouse=True)
def logging_lasts_one_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Logging that code under test configures (``simcrm`` run in-process) ends with the test.

    structlog's ``cache_logger_on_first_use`` freezes a module's logger with the processors of
    its first use, for the life of the process: ``capture_logs()`` in any later test on the same
    worker would then see nothing from it. Tests therefore never cache, and each starts from
    structlog's defaults.
    """
    configure = structlog.configure

    def configure_without_cache(**options: Any) -> None:
        configure(**{**options, "cache_logger_on_first_use": False})

    monkeypatch.setattr(structlog, "configure", configure_without_cache)
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[MySQLServer]:
    try:
        run_blocking(lambda: _mysql_admin("SELECT 1"))
    except Exception as exc:
        message = f"MariaDB not reachable at {make_url(MYSQL_SERVER_URL)!r}: {exc}"
        if REQUIRE_MYSQL:
            pytest.fail(message)
        pytest.skip(message)
    server = MySQLServer()
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def mysql_session_url(mysql_server: MySQLServer) -> str:
    """One migrated MariaDB database shared by the session; tests empty its tables."""
    url = mysql_server.new_database()

    async def migrate() -> None:
        async with Store.open(url, require_schema=False) as store:
            await store.migrate()

    run_blocking(migrate)
    return url


@pytest.fixture(params=["sqlite", "mysql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty, unmigrated database of each kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/simcrm.db"
    server: MySQLServer = request.getfixturevalue("mysql_server")
    return server.new_database()


class Clock:
    """A settable UTC clock for the store's timestamps."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "mysql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: object, clock: Clock
) -> AsyncIterator[Store]:
    """A migrated, empty store on SQLite and on MariaDB."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/simcrm.db"
        async with Store.open(url, require_schema=False, now=clock) as fresh:
            await fresh.migrate()
            yield fresh
        return
    url = request.getfixturevalue("mysql_session_url")
    async with Store.open(url, now=clock) as shared:
        async with shared.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(delete(table))
        yield shared


@pytest.fixture(scope="session")
def redis_endpoint_for_tests() -> Iterator[RedisEndpoint]:
    """The Redis the project's own helper finds (embedded when none answers), at this worker's
    database: ``SIMCRM_TEST_REDIS_DB`` (15) without workers, one less for each worker after
    ``gw0``, whatever database ``REDIS_URL`` names. Every URL a test hands on (to a daemon,
    a worker process, ``simcrm serve``) comes from here, so child processes share the database.
    Two concurrent runs on one server need bases far enough apart (15 and 7 for up to 8 workers).
    """
    database = worker_database(XDIST_WORKER, TEST_REDIS_DB)
    settings = load_settings().replace(REDIS_DB=database)
    with redis_endpoint(settings) as endpoint:
        yield RedisEndpoint(with_database(endpoint.url, database), endpoint.source)


@pytest.fixture
def redis_url(redis_endpoint_for_tests: RedisEndpoint) -> str:
    return redis_endpoint_for_tests.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client (bytes responses) on this worker's test database, flushed before the test."""
    client: Redis = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    """A private 3-master Redis Cluster (Redis 6.2) on loopback, for the whole session."""
    cluster = RedisClusterServers()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[..., RedisServer]]:
    """Start private redis-servers (``appendonly=True`` for restart tests); all stopped after."""
    servers: list[RedisServer] = []

    def start(**options: Any) -> RedisServer:
        server = RedisServer(**options)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.close()
