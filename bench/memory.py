"""``python -m bench memory [--json]``: Redis memory under a huge time-scaled simulation.

A ``b2b_saas`` simulation of ``--records`` contacts (10,000,000) over 30 days runs at
``--time-scale`` (3600: the whole window in 12 minutes of wall clock, about 14,000 records due per
second) through real ``python -m engine`` daemons to the sandbox in its own process at 190
requests per 10 s — far fewer than are due, so the backlog cap is what keeps Redis small. For
``--seconds`` (600) Redis's ``INFO memory`` ``used_memory`` is sampled every second on a private
Redis, with the queue's depth, how late the run is, and the objects created. Reported: peak and
final used memory in MB against the target (below 200 MB), and one sample per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import orjson
from redis.asyncio import Redis

from bench.limits import start_sandbox_process
from engine.logs import configure_logging
from engine.redis_endpoint import EmbeddedRedis
from engine.runtime import metrics
from engine.runtime.backlog import LATE_MAX_MS, LATE_MS
from engine.runtime.keys import SimKeys
from engine.settings import Settings
from engine.simulations import HubSpotTokens, Simulations
from schema.store import Store
from streams import Queue

TIER = 190
TARGET_MB = 200
MB = 2**20


async def _sample(redis: Redis, queue: Queue, keys: SimKeys, elapsed_s: float) -> dict[str, Any]:
    memory = await redis.info("memory")
    depth = sum(shard.depth for shard in await queue.stats())
    late = await redis.hmget(keys.segments, [LATE_MS, LATE_MAX_MS])
    counts = await metrics.read(redis, keys)
    return {
        "t_s": round(elapsed_s),
        "used_memory_mb": round(int(memory["used_memory"]) / MB, 1),
        "queue_depth": depth,
        "late_s": round(int(late[0] or 0) / 1000, 1),
        "late_max_s": round(int(late[1] or 0) / 1000, 1),
        "created": metrics.total(counts, metrics.Metric.CREATED),
        "scheduled_contacts": counts.get("contact", {}).get("scheduled", 0),
    }


async def run(
    records: int, time_scale: float, seconds: float, daemons: int, redis_url: str
) -> dict[str, Any]:
    sandbox, sandbox_url = await start_sandbox_process(TIER)
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    scratch = tempfile.mkdtemp(prefix="simcrm-bench-")
    database_url = f"sqlite+aiosqlite:///{scratch}/bench.db"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "SIMCRM_SANDBOX_URL": sandbox_url,
        "HUBSPOT_TIER": str(TIER),
        "HUBSPOT_DAILY_LIMIT": "0",
        "LOG_LEVEL": "warning",
    }
    settings = Settings.from_env(env)  # the daemons' settings
    processes: list[asyncio.subprocess.Process] = []
    samples: list[dict[str, Any]] = []
    try:
        async with Store.open(database_url, require_schema=False) as store:
            await store.migrate()
            user, _ = await store.users.create("bench@simcrm.local")
            body = {
                "name": "memory benchmark",
                "scenario": "b2b_saas",
                "distribution_method": "uniform",
                "start_time": "2026-01-05T00:00:00Z",
                "end_time": "2026-02-04T00:00:00Z",
                "total_records": records,
                "time_scale": time_scale,
                "backfill": False,
            }
            simulations = Simulations(store, HubSpotTokens(store))
            sim = await simulations.create(user.id, body)
            for _ in range(daemons):
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "engine", env=env, stdout=asyncio.subprocess.DEVNULL
                    )
                )
            await asyncio.sleep(2.0)  # let the daemons boot before the clock starts
            keys = SimKeys(sim.id, settings.redis.key_prefix)
            queue = Queue(redis, settings.queue_config())
            started = time.monotonic()
            await simulations.start(sim.id)
            while (elapsed := time.monotonic() - started) < seconds:
                samples.append(await _sample(redis, queue, keys, elapsed))
                await asyncio.sleep(1.0)
            samples.append(await _sample(redis, queue, keys, time.monotonic() - started))
            if any(process.returncode is not None for process in processes):
                raise RuntimeError("a daemon exited during the run")
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        sandbox.terminate()
        await sandbox.wait()
        await redis.aclose()
    peak = max(samples, key=lambda s: s["used_memory_mb"])
    final = samples[-1]
    return {
        "records": records,
        "time_scale": time_scale,
        "seconds": seconds,
        "daemons": daemons,
        "backlog_max": settings.runtime.backlog_max,
        "tier": TIER,
        "peak_used_memory_mb": peak["used_memory_mb"],
        "peak_at_s": peak["t_s"],
        "final_used_memory_mb": final["used_memory_mb"],
        "target_mb": TARGET_MB,
        "below_target": peak["used_memory_mb"] < TARGET_MB,
        "created": final["created"],
        "scheduled_contacts": final["scheduled_contacts"],
        "late_s": final["late_s"],
        "late_max_s": final["late_max_s"],
        "per_minute": _per_minute(samples),
    }


def _per_minute(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first sample of each minute, and the last one."""
    chosen: list[dict[str, Any]] = []
    for sample in samples:
        if not chosen or sample["t_s"] // 60 > chosen[-1]["t_s"] // 60:
            chosen.append(sample)
    if chosen[-1] is not samples[-1]:
        chosen.append(samples[-1])
    return chosen


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench memory", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--records", type=int, default=10_000_000, help="records to simulate")
    parser.add_argument("--time-scale", type=float, default=3600, help="the run's time scale")
    parser.add_argument("--seconds", type=float, default=600, help="how long to sample")
    parser.add_argument("--daemons", type=int, default=1, help="worker daemons to run")
    args = parser.parse_args(argv)
    configure_logging("warning")
    with ExitStack() as stack:
        url = stack.enter_context(EmbeddedRedis()).url
        result = asyncio.run(run(args.records, args.time_scale, args.seconds, args.daemons, url))
        result.update(_versions())
    if args.json:
        print(orjson.dumps(result).decode(), flush=True)
    else:
        for sample in result["per_minute"]:
            print(
                f"{sample['t_s']:>5} s  {sample['used_memory_mb']:>7.1f} MB  "
                f"depth {sample['queue_depth']:>7,}  late {sample['late_s']:>7.1f} s  "
                f"created {sample['created']:>9,}",
                flush=True,
            )
        print(
            f"peak {result['peak_used_memory_mb']} MB at {result['peak_at_s']} s, "
            f"final {result['final_used_memory_mb']} MB (target < {TARGET_MB} MB: "
            f"{'met' if result['below_target'] else 'missed'})",
            flush=True,
        )
    return 0 if result["below_target"] else 1
