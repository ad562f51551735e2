"""``python -m bench queue``: our queue against arq and SAQ, same job, same Redis, one run.

For each system, on a private redis-server (or ``--redis-url``), flushed between phases:

- ``enqueue_jobs_per_s``: N ready jobs, batched where the system allows;
- ``redis_bytes_per_job``: INFO used_memory after that enqueue minus before, over N (jobs pending);
- ``process_jobs_per_s``: N no-op jobs drained by one worker at each concurrency;
- ``delayed_lag_ms``: p50/p99 of handler start minus due time, for jobs delayed 100–500 ms
  enqueued at ``--delayed-rate`` jobs/s for ``--delayed-seconds`` while a worker runs.

arq runs with a 10 ms poll delay and ``keep_result=0``; SAQ with ``ttl=-1`` (no result kept) and
its default timers; ours with its defaults (heartbeat, reaper, mover, dead-lettering all on).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from bench._queue_systems import SYSTEMS, System, version
from bench._redis_server import PrivateRedis
from engine.logs import configure_logging

DRAIN_TIMEOUT_S = 300.0
SETTLE_S = 1.0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _memory(client: Redis) -> int:
    info = await client.info("memory")
    return int(info["used_memory"])


async def _process(system: System, client: Redis, jobs: int, concurrency: int) -> float | None:
    """Seconds one worker at ``concurrency`` takes to run ``jobs`` enqueued jobs."""
    seen = 0
    done = asyncio.Event()

    def on_job(index: int, due_ms: int) -> None:
        nonlocal seen
        seen += 1
        if seen >= jobs:
            done.set()

    started = time.perf_counter()
    await system.start(concurrency, on_job)
    try:
        await asyncio.wait_for(done.wait(), DRAIN_TIMEOUT_S)
        return time.perf_counter() - started
    except TimeoutError:
        return None
    finally:
        await system.stop()


async def _delayed_lag(system: System, rate: int, seconds: float, concurrency: int) -> list[int]:
    """Lags (ms) of jobs delayed 100–500 ms, enqueued at ``rate`` per second."""
    total = int(rate * seconds)
    lags: list[int] = []
    done = asyncio.Event()

    def on_job(index: int, due_ms: int) -> None:
        lags.append(_now_ms() - due_ms)
        if len(lags) >= total:
            done.set()

    rng = random.Random(7)
    tick_s = 0.01
    per_tick = max(1, round(rate * tick_s))
    await system.start(concurrency, on_job)
    try:
        sent = 0
        next_tick = time.perf_counter()
        while sent < total:
            now = _now_ms()
            batch = [
                (sent + k, now + rng.randint(100, 500)) for k in range(min(per_tick, total - sent))
            ]
            await system.enqueue_at(batch)
            sent += len(batch)
            next_tick += tick_s
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
        await asyncio.wait_for(done.wait(), 30)
    except TimeoutError:
        pass
    finally:
        await system.stop()
    return lags


async def _measure(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    system: System = SYSTEMS[name]()
    client = Redis.from_url(url)
    await system.open(url)
    result: dict[str, Any] = {"system": system.name, "version": system.version, "jobs": args.jobs}
    try:
        await client.flushall()
        before = await _memory(client)
        started = time.perf_counter()
        await system.enqueue(range(args.jobs))
        elapsed = time.perf_counter() - started
        result["enqueue_jobs_per_s"] = round(args.jobs / elapsed)
        # Redis frees idle clients' query buffers in its periodic cron: let that run so the
        # figure counts what the jobs hold, not the transient buffers of the burst.
        await asyncio.sleep(SETTLE_S)
        result["redis_bytes_per_job"] = round((await _memory(client) - before) / args.jobs)
        rates: dict[str, int | None] = {}
        for index, concurrency in enumerate(args.concurrency):
            if index:
                await client.flushall()
                await system.enqueue(range(args.jobs))
            seconds = await _process(system, client, args.jobs, concurrency)
            rates[str(concurrency)] = None if seconds is None else round(args.jobs / seconds)
        result["process_jobs_per_s"] = rates
        await client.flushall()
        lags = await _delayed_lag(
            system, args.delayed_rate, args.delayed_seconds, max(args.concurrency)
        )
        expected = int(args.delayed_rate * args.delayed_seconds)
        result["delayed_lag_ms"] = {
            "p50": _percentile(lags, 0.50),
            "p99": _percentile(lags, 0.99),
            "jobs": expected,
            "received": len(lags),
            "rate_per_s": args.delayed_rate,
        }
    finally:
        await client.flushall()
        await system.close()
        await client.aclose()
    return result


async def _server_version(url: str) -> str:
    client = Redis.from_url(url)
    try:
        return str((await client.info("server"))["redis_version"])
    finally:
        await client.aclose()


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def _run(args: argparse.Namespace, url: str) -> list[dict[str, Any]]:
    machine = {
        "python": platform.python_version(),
        "redis_server": await _server_version(url),
        "redis_py": version("redis"),
        "cpus": os.cpu_count(),
        "cpu": _cpu(),
    }
    results = []
    for name in args.systems:
        result = await _measure(name, url, args)
        result["machine"] = machine
        results.append(result)
        if args.json:
            print(orjson.dumps(result).decode(), flush=True)
    return results


def _table(results: list[dict[str, Any]]) -> None:
    concurrencies = list(results[0]["process_jobs_per_s"]) if results else []
    head = ["system", "enqueue/s", *(f"process/s c={c}" for c in concurrencies)]
    head += ["lag p50 ms", "lag p99 ms", "bytes/job"]
    print(" | ".join(head))
    for r in results:
        row = [r["system"], str(r["enqueue_jobs_per_s"])]
        row += [str(r["process_jobs_per_s"][c]) for c in concurrencies]
        lag = r["delayed_lag_ms"]
        row += [str(lag["p50"]), str(lag["p99"]), str(r["redis_bytes_per_job"])]
        print(" | ".join(row))


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench queue", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per phase (default 20000)")
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[10, 100],
        help="comma-separated worker concurrencies (default 10,100)",
    )
    parser.add_argument(
        "--systems",
        type=lambda text: text.split(","),
        default=["ours", "arq", "saq"],
        help="comma-separated systems among ours, arq, saq (default all three)",
    )
    parser.add_argument("--delayed-rate", type=int, default=1_000, help="delayed jobs per second")
    parser.add_argument("--delayed-seconds", type=float, default=3.0, help="delayed phase length")
    parser.add_argument(
        "--redis-url", help="use this Redis (it is FLUSHED) instead of a private one"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per system")
    args = parser.parse_args(argv)
    unknown = [name for name in args.systems if name not in SYSTEMS]
    if unknown:
        parser.error(f"--systems: unknown {', '.join(unknown)} (choose from {', '.join(SYSTEMS)})")
    if args.jobs < 1 or any(c < 1 for c in args.concurrency):
        parser.error("--jobs and --concurrency must be positive")
    return args


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    configure_logging("warning")
    missing = [n for n in args.systems if n != "ours" and version(n) == "not installed"]
    if missing:
        print(
            f"{', '.join(missing)} missing: install the bench extra (pip install -e '.[bench]')",
            file=sys.stderr,
        )
        return 2
    if args.redis_url:
        results = asyncio.run(_run(args, args.redis_url))
    else:
        with PrivateRedis() as server:
            results = asyncio.run(_run(args, server.url))
    if not args.json:
        _table(results)
    return 0
