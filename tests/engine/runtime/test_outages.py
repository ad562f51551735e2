"""A worker daemon and its dependencies going away: Redis down at start, Redis stopped for a
while or frozen mid-run, and a worker whose settings cannot read the stored HubSpot tokens.
Each outage shows as one line when it starts and one when it ends; the daemon never gives up."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from structlog.testing import capture_logs

from engine.crm import ObjectType
from engine.runtime.engine import EXIT_MISCONFIGURED
from engine.settings import key_id
from sandbox import Sandbox
from schema.crypto import TokenCipher
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    SECRET,
    create_simulation,
    daemon_env,
    runtime_settings,
    start_engine,
    wait_for_status,
    wait_until,
)
from tests.support.servers import RedisServer


class Daemon:
    """`python -m engine` with its log (JSON lines on stderr) kept in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**env, "LOG_LEVEL": "info"}
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Daemon:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "engine",
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        return self

    @property
    def returncode(self) -> int | None:
        assert self.process is not None
        return self.process.returncode

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        """Every JSON log line so far (other lines, such as tracebacks, are in :meth:`text`)."""
        found = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                found.append(orjson.loads(line))
        return found

    def count(self, event: str, **fields: Any) -> int:
        return sum(
            1
            for e in self.events()
            if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())
        )

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 60)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.mark.slow
async def test_redis_down_at_start_waits_instead_of_exiting(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_server_factory: Callable[..., RedisServer],
    tmp_path: Path,
) -> None:
    """A worker started while Redis is down keeps waiting (one log line, no exit 1); once Redis
    answers it starts, says Redis is back, and stops cleanly on SIGTERM."""
    server = redis_server_factory()
    server.stop()
    settings = runtime_settings(sandbox)
    env = daemon_env(settings, server.url, database_file)
    daemon = await Daemon(env, tmp_path / "d.log").start()
    try:
        await wait_until(
            lambda: daemon.returncode is not None or daemon.count("dependency_unavailable") > 0,
            30,
        )
        assert daemon.returncode is None, daemon.text()[-2000:]
        server.start()
        await wait_until(lambda: daemon.count("engine_started") == 1, 30)
        assert await daemon.stop() == 0
    finally:
        await daemon.kill()
    assert daemon.count("dependency_unavailable", dependency="redis") == 1
    assert daemon.count("dependency_recovered", dependency="redis") == 1
    assert "Traceback" not in daemon.text()


@pytest.mark.slow
async def test_a_redis_outage_logs_one_line_each_way(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_server_factory: Callable[..., RedisServer],
    tmp_path: Path,
) -> None:
    """Redis (AOF on) stopped for 5 s while a worker runs a simulation: the log gets one line
    when it goes, one when it is back (with the duration and the failed attempts), no
    traceback and nothing else at warning level meanwhile; the run completes."""
    server = redis_server_factory(appendonly=True)
    sandbox.reconfigure(tier=100, latency_ms=50)
    row = await create_simulation(runtime_store, total_records=600)
    settings = runtime_settings(sandbox)
    env = daemon_env(settings, server.url, database_file)
    daemon = await Daemon(env, tmp_path / "d.log").start()
    try:
        await wait_until(lambda: len(sandbox.objects(ObjectType.NOTE)) > 50, 60)
        server.stop()
        await asyncio.sleep(5)  # the outage itself
        server.start()
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 120)
        assert await daemon.stop() == 0
    finally:
        await daemon.kill()
    assert "Traceback" not in daemon.text()
    events = daemon.events()
    names = [e["event"] for e in events]
    went = names.index("dependency_unavailable")
    back = names.index("dependency_recovered")
    assert names.count("dependency_unavailable") == names.count("dependency_recovered") == 1
    assert events[went]["dependency"] == events[back]["dependency"] == "redis"
    assert events[back]["failures"] >= 1 and events[back]["down_ms"] >= 1_000
    meanwhile = [e for e in events[went + 1 : back] if e["level"] in ("warning", "error")]
    assert meanwhile == []


@pytest.mark.slow
async def test_a_frozen_redis_is_noticed_by_the_socket_timeout(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_server_factory: Callable[..., RedisServer],
    tmp_path: Path,
) -> None:
    """Redis frozen (SIGSTOP: connections stay open, nothing answers): the worker notices
    within REDIS_SOCKET_TIMEOUT_MS instead of waiting forever, and notices its return."""
    server = redis_server_factory()
    settings = runtime_settings(sandbox)
    env = {**daemon_env(settings, server.url, database_file), "REDIS_SOCKET_TIMEOUT_MS": "2000"}
    daemon = await Daemon(env, tmp_path / "d.log").start()
    pid = server.pid
    try:
        await wait_until(lambda: daemon.count("engine_started") == 1, 30)
        os.kill(pid, signal.SIGSTOP)
        try:
            await wait_until(lambda: daemon.count("dependency_unavailable") == 1, 30)
        finally:
            os.kill(pid, signal.SIGCONT)
        await wait_until(lambda: daemon.count("dependency_recovered") == 1, 30)
        assert await daemon.stop() == 0
    finally:
        await daemon.kill()
    assert daemon.count("dependency_unavailable", dependency="redis") == 1


async def test_a_worker_without_the_token_secret_refuses_to_start(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, tmp_path: Path
) -> None:
    """HubSpot tokens are stored and the worker has no TOKEN_ENC_SECRET: it exits at once with
    status 3 and one line naming TOKEN_ENC_SECRET, touching no simulation."""
    user, _key = await runtime_store.users.create("owner@example.com")
    raw = bytes.fromhex(SECRET)
    await runtime_store.credentials.put(user.id, "pat-na1-secret", TokenCipher({key_id(raw): raw}))
    row = await create_simulation(runtime_store, target="sandbox")
    env = daemon_env(runtime_settings(sandbox), redis_url, database_file)
    env.pop("TOKEN_ENC_SECRET", None)
    daemon = await Daemon(env, tmp_path / "d.log").start()
    assert daemon.process is not None
    assert await asyncio.wait_for(daemon.process.wait(), 60) == EXIT_MISCONFIGURED
    lines = daemon.text().strip().splitlines()
    assert len(lines) == 1 and "TOKEN_ENC_SECRET" in lines[0], lines
    assert "pat-na1-secret" not in daemon.text()
    assert (await runtime_store.simulations.get(row.id)).status is SimulationStatus.RUNNING


async def test_a_token_stored_after_start_stops_the_worker_not_the_simulation(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """A worker without TOKEN_ENC_SECRET started before any token was stored: the first job of
    a hubspot simulation stops the worker (exit code 3, one error line naming the variable), the
    job goes back unspent, and the simulation stays running for a worker that can read it."""
    settings = runtime_settings(sandbox).replace(TOKEN_ENC_SECRET=None)
    running = await start_engine(settings, redis_url, database_file)
    user, _key = await runtime_store.users.create("owner@example.com")
    raw = bytes.fromhex(SECRET)
    await runtime_store.credentials.put(user.id, "pat-na1-secret", TokenCipher({key_id(raw): raw}))
    with capture_logs() as logs:
        row = await create_simulation(runtime_store, target="hubspot", total_records=20)
        await asyncio.wait_for(running.task, 60)
    assert running.engine.exit_code == EXIT_MISCONFIGURED
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e["event"] for e in errors] == ["worker_misconfigured"]
    assert errors[0]["variable"] == "TOKEN_ENC_SECRET"
    assert (await runtime_store.simulations.get(row.id)).status is SimulationStatus.RUNNING
    dead = await running.engine.queue.dead_letters.entries(str(row.id), limit=10)
    assert dead == []
