"""``python -m bench e2e [--json]``: a whole backfill, end to end, against the sandbox.

A backfill of ``--records`` contacts (50,000) with the ``b2b_saas`` activities runs through real
``python -m engine`` daemons — one, then two — to the sandbox in its own process at 190 requests
per 10 s (strict, as HubSpot is: custom properties must be created first), with a private Redis.
Reported per run: objects written per second (creates and updates) and contacts per second, the
fraction of the batching ceiling (190 requests × 100 objects per 10 s = 1,900/s), requests per
second and objects per request, the busiest 10 s the sandbox saw, 429s, duplicates, the daemons'
CPU seconds per 1,000 objects, Redis's peak memory, and the batch calls by type and operation
with their mean inputs per call. The original system sent one record per
request: at the same tier its ceiling was 19 records/s, so the ratio to it is reported too.

``--adversarial`` runs the sandbox with every adversarial mode on (writes applied and then
answered with a gateway error or never answered, search lag drawn from 1–60 s, shuffled batch
results without trace ids, other duplicate wordings) and the daemons waiting out that lag before a
look-up. After the run, once the longest search lag has passed, the run is verified as
``simcrm sim verify`` does it: duplicates and missing objects per type, counted by
``simcrm_key`` in the sandbox through its search API. The figures then say how much of the
ceiling survives correctness.
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
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis

from bench.limits import start_sandbox_process
from engine.crm import HubSpotTransport, PortalClient, check_token
from engine.logs import configure_logging
from engine.redis_endpoint import EmbeddedRedis
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.settings import Settings
from engine.simulations import HubSpotTokens, Simulations
from engine.simulations.verify import Verification, verify_simulation
from limits import Limiter
from schema.simulations import SimulationStatus
from schema.store import Store

TIER = 190
ORIGINAL_RECORDS_PER_S = TIER / 10  # one record per request
ADVERSARIAL_LAG_MS = 60_000  # the longest search lag `simcrm sandbox --adversarial` draws


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _stats(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(f"{url}/__sandbox/stats") as response:
        data: dict[str, Any] = await response.json()
        return data


async def _verify(
    settings: Settings, sandbox_url: str, store: Store, sim_id: int, redis: Redis
) -> Verification:
    """The run counted in the sandbox by key, searching at the account's own pace."""
    limiter = Limiter(redis, settings.limits.config())
    await limiter.load()
    token = settings.runtime.sandbox_token
    async with HubSpotTransport(sandbox_url, limiter=limiter, wait_for_limits=True) as transport:
        details = await check_token(transport, token)
        portal = PortalClient(transport, details.portal_id, token)
        row = await store.simulations.get(sim_id)
        keys = SimKeys(sim_id, settings.redis.key_prefix)
        return await verify_simulation(row, portal, redis, keys)


def _verified(result: Verification | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {
        "verify_duplicates": result.duplicates,
        "verify_missing": result.missing,
        "verify_by_type": {
            t.object_type.path: {
                "in_crm": t.in_crm,
                "duplicates": t.duplicates,
                "missing": t.missing,
            }
            for t in result.types
        },
    }


async def run(
    records: int, daemons: int, redis_url: str, timeout_s: float, *, adversarial: bool = False
) -> dict[str, Any]:
    extra = ("--adversarial", "--seed", "7") if adversarial else ()
    sandbox, sandbox_url = await start_sandbox_process(TIER, *extra)
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.config_resetstat()
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
    if adversarial:  # a look-up must wait out the longest lag before it may conclude "absent"
        env["HUBSPOT_SEARCH_LAG_MS"] = str(ADVERSARIAL_LAG_MS)
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with Store.open(database_url, require_schema=False) as store:
            await store.migrate()
            user, _ = await store.users.create("bench@simcrm.local")
            body = {
                "name": "e2e benchmark",
                "scenario": "b2b_saas",
                "distribution_method": "uniform",
                "start_time": "2026-01-05T00:00:00Z",
                "end_time": "2026-02-05T00:00:00Z",
                "total_records": records,
                "backfill": True,
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
            started = time.monotonic()
            await simulations.start(sim.id)
            while (await store.simulations.get(sim.id)).status is not SimulationStatus.COMPLETED:
                if time.monotonic() - started > timeout_s:
                    raise RuntimeError(f"the backfill did not complete in {timeout_s} s")
                await asyncio.sleep(0.2)
            elapsed = time.monotonic() - started
            cpu = sum(_cpu_seconds(p.pid) for p in processes)
            prefix = Settings.from_env(env).redis.key_prefix  # the daemons' prefix
            counts = await metrics.read(redis, SimKeys(sim.id, prefix))
            memory = await redis.info("memory")
            checked = None
            if adversarial:  # stop the daemons, let the lag pass, then count by key
                await _stop(processes)
                await asyncio.sleep(ADVERSARIAL_LAG_MS / 1000)
                settings = Settings.from_env(env)
                checked = await _verify(settings, sandbox_url, store, sim.id, redis)
        async with aiohttp.ClientSession() as http:
            stats = await _stats(http, sandbox_url)
    finally:
        await _stop(processes)
        sandbox.terminate()
        await sandbox.wait()
        await redis.aclose()
    written = sum(
        by.get("created", 0) + by.get("updated", 0) for kind, by in counts.items() if kind != "all"
    )
    requests = int(stats["requests"])
    rate = written / elapsed
    return {
        "adversarial": adversarial,
        "daemons": daemons,
        "records": records,
        "objects_written": written,
        "elapsed_s": round(elapsed, 1),
        "objects_per_s": round(rate, 1),
        "contacts_per_s": round(records / elapsed, 1),
        "fraction_of_ceiling": round(rate / (TIER * 10), 3),
        "requests_per_s": round(requests / elapsed, 2),
        "objects_per_request": round(written / requests, 1),
        "peak_requests_10s": stats["peak_10s"],
        "limit_10s": TIER,
        "rate_limited_429": stats["rate_limited_total"],
        "duplicates": sum(stats["duplicates"].values()),
        **_verified(checked),
        "dead_letters": sum(by.get("dead", 0) for by in counts.values()),
        "cpu_s_per_1000_objects": round(cpu / written * 1000, 3),
        "redis_peak_memory_mb": round(int(memory["used_memory_peak"]) / 2**20, 1),
        "ratio_to_original": round(rate / ORIGINAL_RECORDS_PER_S, 1),
        "batches": {
            call: {"calls": by["calls"], "mean_inputs": round(by["inputs"] / by["calls"], 1)}
            for call, by in stats["batches"].items()
        },
    }


async def _stop(processes: Sequence[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await process.wait()


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench e2e", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    parser.add_argument("--records", type=int, default=50_000, help="contacts to backfill")
    parser.add_argument("--daemons", default="1,2", help="daemon counts to run, e.g. 1,2")
    parser.add_argument("--timeout", type=float, default=1_800, help="seconds per run at most")
    parser.add_argument(
        "--adversarial",
        action="store_true",
        help="the sandbox's adversarial modes on; the run verified by key afterwards",
    )
    args = parser.parse_args(argv)
    configure_logging("warning")
    with ExitStack() as stack:
        url = stack.enter_context(EmbeddedRedis()).url
        for daemons in (int(d) for d in args.daemons.split(",") if d):
            outcome = run(args.records, daemons, url, args.timeout, adversarial=args.adversarial)
            result = {**asyncio.run(outcome), **_versions()}
            if args.json:
                print(orjson.dumps(result).decode(), flush=True)
            else:
                print(
                    f"{daemons} daemon(s): {result['objects_per_s']:,.0f} objects/s "
                    f"({result['fraction_of_ceiling']:.0%} of the ceiling), "
                    f"{result['objects_per_request']} per request, "
                    f"peak {result['peak_requests_10s']}/{TIER}, "
                    f"{result['rate_limited_429']} × 429, {result['duplicates']} duplicates, "
                    f"{result['dead_letters']} dead letters"
                    + (
                        f"; verified: {result['verify_duplicates']} duplicates, "
                        f"{result['verify_missing']} missing"
                        if args.adversarial
                        else ""
                    ),
                    flush=True,
                )
    return 0
