"""``python -m bench health [--json]``: ``/api/health`` latency while huge previews are computed.

A real ``simcrm serve`` process on a private Redis and a SQLite file. First ``/api/health`` alone
(one request every 50 ms for ``--idle`` seconds), then the same while ``--previewers`` clients
each ask back to back for the preview of a 10,000,000-record, one-year definition for
``--seconds`` seconds. Reported: health p50/p95/max in both phases, previews answered (200) and
refused (503 ``busy``, each followed by its Retry-After). Health staying near its idle latency
is what shows the previews never run on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from bench._redis_server import PrivateRedis
from bench.api import SECRET, SIMCRM, _percentile, _start_server

PREVIEW: dict[str, Any] = {
    "name": "preview",
    "scenario": "b2b_saas",
    "distribution_method": "bell",
    "start_time": "2026-01-05T00:00:00Z",
    "end_time": "2027-01-05T00:00:00Z",
    "total_records": 10_000_000,
}
HEALTH_EVERY_S = 0.05


async def _health(session: aiohttp.ClientSession, url: str, until: float) -> list[float]:
    latencies = []
    while time.perf_counter() < until:
        began = time.perf_counter()
        async with session.get(f"{url}/api/health") as response:
            await response.read()
        latencies.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(HEALTH_EVERY_S)
    return latencies


async def _previews(session: aiohttp.ClientSession, url: str, until: float) -> dict[int, int]:
    answers: dict[int, int] = {}
    while time.perf_counter() < until:
        async with session.post(f"{url}/api/simulations/preview", json=PREVIEW) as response:
            await response.read()
            answers[response.status] = answers.get(response.status, 0) + 1
            if response.status == 503:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    return answers


def _summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "samples": len(ordered),
        "p50_ms": round(_percentile(ordered, 0.50), 1),
        "p95_ms": round(_percentile(ordered, 0.95), 1),
        "max_ms": round(ordered[-1], 1) if ordered else 0.0,
    }


async def _measure(url: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=600)
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        idle = await _health(session, url, time.perf_counter() + args.idle)
        until = time.perf_counter() + args.seconds
        health = asyncio.create_task(_health(session, url, until))
        answers = await asyncio.gather(
            *(_previews(session, url, until) for _ in range(args.previewers))
        )
        busy = await health
    totals: dict[str, int] = {}
    for part in answers:
        for status, count in part.items():
            totals[str(status)] = totals.get(str(status), 0) + count
    return {"idle": _summary(idle), "during_previews": _summary(busy), "previews": totals}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with PrivateRedis() as redis_server, tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
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
            results = asyncio.run(_measure(url, key, args))
        finally:
            server.terminate()
            server.wait(15)
            if server.stdout is not None:
                server.stdout.close()
    return {
        "benchmark": "health",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "previewers": args.previewers,
        "seconds": args.seconds,
        "records": PREVIEW["total_records"],
        **results,
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench health", description=__doc__)
    parser.add_argument("--previewers", type=int, default=3, help="clients asking for previews")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of previews")
    parser.add_argument("--idle", type=float, default=2.0, help="seconds of health alone first")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    report = run(args)
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return 0
    for phase in ("idle", "during_previews"):
        row = report[phase]
        print(
            f"health {phase:<16} n={row['samples']:<4} p50 {row['p50_ms']:>7.1f} ms   "
            f"p95 {row['p95_ms']:>7.1f} ms   max {row['max_ms']:>7.1f} ms"
        )
    print(f"previews answered by status: {report['previews']}")
    return 0
