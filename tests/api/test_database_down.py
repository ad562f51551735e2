"""A database that is locked or unreachable: create and pause answer 503 ``database_unavailable``
naming the database within DATABASE_TIMEOUT_MS, nothing is half-applied, health reports the
database down, and everything works again once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from api.app import create_app
from core.clock import ManualClock
from schema.db import UNAVAILABLE, unavailable_reason
from schema.store import Store
from tests.api.conftest import BODY, Api, ApiFactory, ClientFactory, api_settings, error_of
from tests.conftest import MySQLServer

TIMEOUT_MS = 300


@contextlib.contextmanager
def locked(database_file: str) -> Iterator[None]:
    """Another connection holding the SQLite file's write lock until the block ends."""
    path = make_url(database_file).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


async def assert_database_unavailable(api: Api, method: str, path: str, body: Any = None) -> None:
    response = await api.client.request(method, path, json=body, headers=api.auth("member"))
    error = error_of(await response.json())
    assert response.status == 503, error
    assert error["code"] == "database_unavailable"
    assert error["details"]["database"] in error["message"]
    assert response.headers["Retry-After"].isdigit()


async def test_a_locked_sqlite_database_is_a_503_and_nothing_is_lost(
    make_api: ApiFactory, database_file: str
) -> None:
    """Under another connection's exclusive lock, create and pause are refused with a 503 naming
    the database (the draft count and the status stay as they were), health reports the
    database down; after the lock is released the same pause is applied."""
    api = await make_api(DATABASE_TIMEOUT_MS=TIMEOUT_MS)
    sim = await api.create()
    assert (await api.call("member", "POST", f"/api/simulations/{sim['id']}/start"))[0] == 200

    with locked(database_file):
        await assert_database_unavailable(api, "POST", "/api/simulations", BODY)
        await assert_database_unavailable(api, "POST", f"/api/simulations/{sim['id']}/pause")
        health = await api.client.get("/api/health")
        report = await health.json()
        assert health.status == 503 and report["down"] == ["database"], report
        assert report["database"] == {"ok": False, "latencyMs": None, "error": None}

    status, listed = await api.call("member", "GET", "/api/simulations")
    assert [row["status"] for row in listed["simulations"]] == ["running"]
    status, paused = await api.call("member", "POST", f"/api/simulations/{sim['id']}/pause")
    assert status == 200 and paused["status"] == "paused"
    assert (await api.client.get("/api/health")).status == 200


async def test_health_tells_a_boss_why_the_database_is_down(
    make_api: ApiFactory, database_file: str
) -> None:
    """A boss's health report names the probe's error while the database is locked."""
    api = await make_api(DATABASE_TIMEOUT_MS=TIMEOUT_MS)
    with locked(database_file):
        response = await api.client.get("/api/health", headers=api.auth("boss"))
        report = await response.json()
    assert response.status == 503
    assert report["database"]["ok"] is False and report["database"]["error"]
    assert report["limits"] == []


class TcpRelay:
    """A loopback TCP relay to a server; ``cut()`` closes every link and stops listening, as a
    database host that went away."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()


@pytest.fixture
async def relayed_mysql(mysql_server: MySQLServer) -> AsyncIterator[tuple[str, TcpRelay]]:
    """A migrated MariaDB database reached through a relay the test can cut."""
    url = make_url(mysql_server.new_database())
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 3306)
    await relay.start()
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    yield relayed, relay
    with contextlib.suppress(Exception):
        await relay.cut()


async def test_an_unreachable_mariadb_is_a_503(
    aiohttp_client: ClientFactory,
    relayed_mysql: tuple[str, TcpRelay],
    redis_url: str,
    redis: Redis,
) -> None:
    """With the MariaDB host gone (its port refusing), create answers a 503 naming the database
    and health reports it down."""
    from tests.api.conftest import make_users

    url, relay = relayed_mysql
    keys = await make_users(url)
    app: web.Application = create_app(
        api_settings(DATABASE_TIMEOUT_MS=1000),
        redis_url=redis_url,
        database_url=url,
        clock=ManualClock(),
    )
    api = Api(app, await aiohttp_client(app), keys, ManualClock())
    await api.create()
    await relay.cut()
    await assert_database_unavailable(api, "POST", "/api/simulations", BODY)
    assert (await api.client.get("/api/health")).status == 503


async def test_a_wrong_port_is_unreachable_not_a_crash(mysql_server: MySQLServer) -> None:
    """A store opened on a port where no MariaDB listens raises an error the API classifies
    as the database being unreachable."""
    url = make_url(mysql_server.new_database()).set(port=9).render_as_string(hide_password=False)
    async with Store.open(url, require_schema=False, timeout_ms=TIMEOUT_MS) as store:
        with pytest.raises(UNAVAILABLE) as caught:
            await store.ping()
    assert unavailable_reason(caught.value) == "unreachable"
    assert store.name == f"mysql database {make_url(url).database}"
