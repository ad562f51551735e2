"""``python -m bench api [--json]``: the HTTP API under 50 concurrent clients on loopback.

A real ``simcrm serve`` process (one event loop) on a private Redis and a SQLite file; the load
comes from ``--processes`` client processes (aiohttp, keep-alive) holding ``--clients`` requests in
flight between them, for ``--seconds`` per endpoint, after a one-second warm-up:

- ``GET /api/simulations/{id}/metrics`` of a running simulation whose live counters are in Redis
  (authentication, ownership, the live hash, the simulated clock);
- ``POST /api/simulations`` with a 1,000-record definition (validation of the whole definition,
  one insert).

Reported per endpoint: requests, requests/s, p50, p99 and max latency, and non-2xx answers.
Targets: metrics at 3,000/s or more with p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from redis import Redis

from bench._redis_server import PrivateRedis

SIMCRM = Path(sys.executable).parent / "simcrm"
SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"  # noqa: S105
BODY: dict[str, Any] = {
    "name": "bench",
    "scenario": "b2b_saas",
    "distribution_method": "bell",
    "start_time": "2026-01-05T00:00:00Z",
    "end_time": "2026-01-12T00:00:00Z",
    "total_records": 1000,
    "time_scale": 60,
}


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


async def _load(
    url: str, key: str, method: str, path: str, clients: int, seconds: float, warmup: float
) -> tuple[list[float], int]:
    """Run ``clients`` request loops; latencies (ms) of requests started after the warm-up."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = orjson.dumps(BODY) if method == "POST" else None
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
    latencies: list[float] = []
    failures = 0
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + seconds
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def loop() -> None:
            nonlocal failures
            while True:
                began = time.perf_counter()
                if began >= deadline:
                    return
                async with session.request(method, f"{url}{path}", data=body) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
                ended = time.perf_counter()
                if began >= measure_from:
                    latencies.append((ended - began) * 1000)
                    failures += not ok

        await asyncio.gather(*(loop() for _ in range(clients)))
    return latencies, failures


def _client_process(args: tuple[str, str, str, str, int, float, float], out: Any) -> None:
    out.put(asyncio.run(_load(*args)))


def measure(
    url: str,
    key: str,
    method: str,
    path: str,
    *,
    clients: int,
    processes: int,
    seconds: float,
) -> dict[str, Any]:
    per_process = [clients // processes + (i < clients % processes) for i in range(processes)]
    queue: Any = multiprocessing.get_context("spawn").Queue()
    workers = [
        multiprocessing.get_context("spawn").Process(
            target=_client_process, args=((url, key, method, path, n, seconds, 1.0), queue)
        )
        for n in per_process
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    latencies = sorted(latency for part, _ in results for latency in part)
    failures = sum(failed for _, failed in results)
    return {
        "endpoint": f"{method} {re.sub(r'/[0-9]+/', '/{id}/', path)}",
        "clients": clients,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(_percentile(latencies, 0.50), 2),
        "p99_ms": round(_percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
        "non_2xx": failures,
    }


def _start_server(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [str(SIMCRM), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"simcrm serve did not start: {line!r}")
    return process, match.group(0)


async def _prepare(url: str, key: str, redis_url: str) -> int:
    """A running simulation with live counters in Redis; returns its id."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        async with session.post(f"{url}/api/simulations", json=BODY) as response:
            sim = await response.json()
        async with session.post(f"{url}/api/simulations/{sim['id']}/start") as response:
            assert response.status == 200, await response.text()
    client = Redis.from_url(redis_url)
    fields = {f"{kind}:{metric}": 17 for kind in ("contact", "company", "deal", "note", "call")
              for metric in ("scheduled", "created", "failed", "rate_limited")}  # fmt: skip
    client.hset(f"simcrm:{{s{sim['id']}}}:metrics", mapping={**fields, "all:scheduled": 85})
    client.close()
    return int(sim["id"])


def run(args: argparse.Namespace) -> dict[str, Any]:
    with PrivateRedis() as redis_server, tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": args.database_url or f"sqlite:///{folder}/bench.db",
            "REDIS_URL": redis_server.url,
            "TOKEN_ENC_SECRET": SECRET,
            "LOG_LEVEL": "warning",
        }
        simcrm = [str(SIMCRM)]  # our own command, fixed arguments
        subprocess.run([*simcrm, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
        created = subprocess.run(  # noqa: S603
            [*simcrm, "users", "create", "--email", "bench@example.com", "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        key = orjson.loads(created.stdout)["api_key"]
        server, url = _start_server(env)
        try:
            sim_id = asyncio.run(_prepare(url, key, redis_server.url))
            options = {
                "clients": args.clients,
                "processes": args.processes,
                "seconds": args.seconds,
            }
            results = [
                measure(url, key, "GET", f"/api/simulations/{sim_id}/metrics", **options),
                measure(url, key, "POST", "/api/simulations", **options),
            ]
        finally:
            server.terminate()
            server.wait(15)
            if server.stdout is not None:
                server.stdout.close()
    return {
        "benchmark": "api",
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "cpus": os.cpu_count(),
        "database": "sqlite" if not args.database_url else "configured",
        "seconds": args.seconds,
        "client_processes": args.processes,
        "results": results,
        "targets": {"metrics_requests_per_s": 3000, "metrics_p99_ms": 50},
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__)
    parser.add_argument("--clients", type=int, default=50, help="requests in flight")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per endpoint")
    parser.add_argument("--database-url", help="a MySQL/MariaDB URL instead of a SQLite file")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    report = run(args)
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(
        f"API on loopback, {args.clients} clients in {args.processes} processes, {args.seconds} s"
    )
    for row in report["results"]:
        print(
            f"  {row['endpoint']:<38} {row['requests_per_s']:>9,.1f} req/s   "
            f"p50 {row['p50_ms']:>6.2f} ms   p99 {row['p99_ms']:>6.2f} ms   "
            f"non-2xx {row['non_2xx']}"
        )
    return 0
