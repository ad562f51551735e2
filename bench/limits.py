"""``python -m bench limits [--json]``: the rate limiter's speed, and pushing through it.

1. ``acquire`` calls per second on one account: from one process (32 concurrent callers), then
   from 4 processes at once — both when requests are admitted (limits out of reach) and when
   they are refused (a full window), on a private Redis (the embedded 6.2 server on a unix
   socket) unless ``--redis-url`` names one.
2. A push: contacts in 100-input ``batch/create`` calls, through the limiter, to the sandbox
   running in its own process at each tier of ``--tiers`` (HubSpot's 100 and 190 per 10 s).
   After one window of warm-up, records are counted over ``--windows`` whole limiter windows
   (10 s + margin): from a cold start the first window is a free burst, and whole windows of
   steady state are what a long simulation sees. Reported: records/s, requests/s, the peak
   number of requests the sandbox saw in any 10 s, its 429s, and the fraction of the batching
   ceiling (tier × 100 records per 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import aiohttp
import orjson
import redis as redis_package
from redis.asyncio import Redis

from engine.crm import HubSpotTransport, ObjectInput, ObjectType, PortalClient, Throttled
from engine.logs import configure_logging
from engine.redis_endpoint import EmbeddedRedis
from limits import LimitConfig, Limiter

TOKEN = "pat-bench"  # noqa: S105 - the sandbox accepts any token
PORTAL = "62515000"
BATCH = 100


# -- acquire throughput -------------------------------------------------------------------------


async def _acquire_loop(url: str, portal: str, seconds: float, admit: bool, callers: int) -> int:
    client = Redis.from_url(url)
    config = (
        LimitConfig(window_limit=10**9, daily_limit=None, buckets={"contact": 10**12})
        if admit
        else LimitConfig.for_tier(100)
    )
    limiter = Limiter(client, config)
    await limiter.load()
    if not admit:
        while (await limiter.acquire(portal, "contact")).allowed:
            pass
    deadline = time.perf_counter() + seconds
    calls = 0

    async def caller() -> None:
        nonlocal calls
        while time.perf_counter() < deadline:
            await limiter.acquire(portal, "contact")
            calls += 1

    await asyncio.gather(*(caller() for _ in range(callers)))
    await client.aclose()
    return calls


def _acquire_process(url: str, portal: str, seconds: float, admit: bool, out: Any) -> None:
    out.put(asyncio.run(_acquire_loop(url, portal, seconds, admit, 32)))


def acquire_rate(url: str, processes: int, seconds: float, admit: bool) -> float:
    portal = f"{os.getpid()}{processes}{int(admit)}{time.time_ns() % 10**6}"
    if processes == 1:
        return asyncio.run(_acquire_loop(url, portal, seconds, admit, 32)) / seconds
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_acquire_process, args=(url, portal, seconds, admit, queue))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    total = sum(queue.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join()
    return float(total) / seconds


# -- push against the sandbox ---------------------------------------------------------------------


async def start_sandbox_process(tier: int, *extra: str) -> tuple[asyncio.subprocess.Process, str]:
    """`simcrm sandbox` in a process of its own at ``tier``; returns it and its URL."""
    code = "import sys; from cli import main; sys.exit(main())"
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", code, "sandbox", "--port", "0", "--tier", str(tier)),
        *("--daily-limit", "0", *extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = re.search(r"http://[\d.]+:\d+", line)
    if match is None:
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return process, match.group(0)


async def push(redis_url: str, tier: int, windows: int, concurrency: int) -> dict[str, Any]:
    process, url = await start_sandbox_process(tier, "--lenient-properties")
    redis = Redis.from_url(redis_url)
    config = LimitConfig.for_tier(tier, daily_limit=None)
    limiter = Limiter(redis, config)
    await limiter.load()
    await limiter.reset(PORTAL)
    window_s = config.effective_window_ms / 1000
    sent: list[tuple[float, int]] = []  # (call start, records created)
    try:
        async with HubSpotTransport(url, limiter=limiter, max_connections=concurrency) as client:
            portal = PortalClient(client, PORTAL, TOKEN)
            start = time.perf_counter()
            end = start + window_s * (windows + 1)
            counter = iter(range(10**9))

            async def pusher() -> None:
                while (left := end - time.perf_counter()) > 0:
                    inputs = [
                        ObjectInput({"email": f"b{next(counter)}@bench.example", "firstname": "B"})
                        for _ in range(BATCH)
                    ]
                    began = time.perf_counter()
                    try:
                        result = await portal.batch_create(ObjectType.CONTACT, inputs)
                    except Throttled as refused:
                        await asyncio.sleep(min(refused.wait_ms / 1000, left))
                        continue
                    sent.append((began - start, len(result.succeeded)))

            await asyncio.gather(*(pusher() for _ in range(concurrency)))
        async with aiohttp.ClientSession() as http, http.get(f"{url}/__sandbox/stats") as answer:
            stats = await answer.json()
    finally:
        process.terminate()
        await process.wait()
        await redis.aclose()
    measured = [(t, n) for t, n in sent if window_s <= t < window_s * (windows + 1)]
    span = window_s * windows
    records = sum(n for _, n in measured)
    ceiling = tier * BATCH / 10
    return {
        "tier": tier,
        "batch": BATCH,
        "concurrency": concurrency,
        "measured_s": round(span, 1),
        "records": records,
        "records_per_s": round(records / span, 1),
        "requests_per_s": round(len(measured) / span, 2),
        "ceiling_records_per_s": ceiling,
        "fraction_of_ceiling": round(records / span / ceiling, 3),
        "peak_requests_10s": stats["peak_10s"],
        "limit_10s": stats["limit_10s"],
        "rate_limited_429": stats["rate_limited_total"],
        "duplicates": stats["duplicates_total"],
        "requests_total": stats["requests"],
    }


# -- entry point ------------------------------------------------------------------------------


def _versions(url: str) -> dict[str, str]:
    async def server_version() -> str:
        client = Redis.from_url(url)
        info = await client.info("server")
        await client.aclose()
        return str(info.get("redis_version", "?"))

    return {
        "python": platform.python_version(),
        "redis_server": asyncio.run(server_version()),
        "redis_py": redis_package.__version__,
        "aiohttp": aiohttp.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
    }


def _describe(outcome: dict[str, Any]) -> str:
    return (
        f"push at {outcome['tier']}/10 s: {outcome['records_per_s']:,.0f} records/s "
        f"({outcome['fraction_of_ceiling']:.1%} of {outcome['ceiling_records_per_s']:,.0f}), "
        f"{outcome['requests_per_s']} requests/s, peak {outcome['peak_requests_10s']}"
        f"/{outcome['limit_10s']} in 10 s, 429s {outcome['rate_limited_429']}, "
        f"duplicates {outcome['duplicates']}"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench limits", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--redis-url", help="use this Redis instead of a private embedded one")
    parser.add_argument("--acquire-seconds", type=float, default=3.0)
    parser.add_argument("--tiers", default="100,190", help="sandbox tiers to push at")
    parser.add_argument("--windows", type=int, default=3, help="measured windows per push")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent batch calls")
    args = parser.parse_args(argv)
    configure_logging("warning")
    with ExitStack() as stack:
        url = args.redis_url or stack.enter_context(EmbeddedRedis()).url
        results: dict[str, Any] = {"versions": _versions(url), "acquire_per_s": {}}
        for processes in (1, 4):
            for admit in (True, False):
                plural = "es" if processes > 1 else ""
                key = f"{processes}_process{plural}_{'admitted' if admit else 'refused'}"
                rate = acquire_rate(url, processes, args.acquire_seconds, admit)
                results["acquire_per_s"][key] = round(rate)
                if not args.json:
                    print(f"acquire, {key.replace('_', ' ')}: {rate:,.0f}/s", flush=True)
        results["push"] = []
        for tier in (int(t) for t in args.tiers.split(",") if t):
            outcome = asyncio.run(push(url, tier, args.windows, args.concurrency))
            results["push"].append(outcome)
            if not args.json:
                print(_describe(outcome), flush=True)
    if args.json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return 0
