"""``python -m bench e2e [--json]``: whole backfills, end to end, against the sandbox.

A backfill of ``--records`` contacts (50,000) with the ``b2b_saas`` activities runs in each of
``--portals`` HubSpot portals (1) through real ``python -m engine`` daemons — one, then two — to
the sandbox in its own process, every portal at 190 requests per 10 s (strict, as HubSpot is:
custom properties must be created first). Each portal has an owner of its own whose stored token
reaches it, and one simulation; all simulations are started at the same moment and the run ends
when every one has completed. Redis is a private embedded server, the Redis or Redis Cluster
``--redis-url`` names (flushed), or a private loopback Redis Cluster of ``--cluster`` masters.

Reported per run: objects written per second (creates and updates) and contacts per second, the
fraction of the batching ceiling (190 requests × 100 objects per 10 s = 1,900/s a portal),
requests per second and objects per request, the busiest 10 s the sandbox saw, 429s, duplicates,
the daemons' CPU seconds per 1,000 objects, the batch calls by type and operation with their mean
inputs per call — in total and per portal (with the lowest portal's fraction of its ceiling) —
and what the run cost Redis (:mod:`bench._redis_figures`): CPU per 1,000 objects, commands and
network bytes per object, peak memory. The original system sent one record per request: at the
same tier its ceiling was 19 records/s a portal, so the ratio to it is reported too.

``--adversarial`` runs the sandbox with every adversarial mode on (writes applied and then
answered with a gateway error or never answered, search lag drawn from 1–60 s, shuffled batch
results without trace ids, other duplicate wordings) and the daemons waiting out that lag before a
look-up. After the run, once the longest search lag has passed, every simulation is verified as
``simcrm sim verify`` does it: duplicates and missing objects per type, counted by
``simcrm_key`` in its portal through the search API. The figures then say how much of the
ceiling survives correctness.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench._e2e_portals import (
    TIER,
    BenchPortal,
    Outcome,
    run_until_completed,
    store_simulations,
    verify,
)
from bench._redis_figures import NodeSample, RedisNodes, figures
from bench._redis_server import private_cluster
from bench.limits import start_sandbox_process
from engine.logs import configure_logging
from engine.redis_endpoint import EmbeddedRedis
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.settings import Settings
from engine.simulations.verify import Verification
from schema.store import Store

CEILING = TIER * 10  # objects/s a portal: 190 requests × 100 objects per 10 s
ORIGINAL_RECORDS_PER_S = TIER / 10  # one record per request
ADVERSARIAL_LAG_MS = 60_000  # the longest search lag `simcrm sandbox --adversarial` draws


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _stats(http: aiohttp.ClientSession, url: str, portal_id: int | None = None) -> Any:
    query = "" if portal_id is None else f"?portal={portal_id}"
    async with http.get(f"{url}/__sandbox/stats{query}") as response:
        response.raise_for_status()
        return await response.json()


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


def _env(redis_url: str, sandbox_url: str, scratch: str, *, adversarial: bool) -> dict[str, str]:
    """The daemons' environment: a fresh SQLite file in ``scratch``, the sandbox as HubSpot, a
    new key to seal the owners' tokens with."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/bench.db",
        "HUBSPOT_BASE_URL": sandbox_url,
        "SIMCRM_SANDBOX_URL": sandbox_url,
        "TOKEN_ENC_SECRET": secrets.token_hex(32),
        "HUBSPOT_TIER": str(TIER),
        "HUBSPOT_DAILY_LIMIT": "0",
        "LOG_LEVEL": "warning",
    }
    if adversarial:  # a look-up must wait out the longest lag before it may conclude "absent"
        env["HUBSPOT_SEARCH_LAG_MS"] = str(ADVERSARIAL_LAG_MS)
    return env


@dataclass(slots=True)
class Measured:
    """What one run measured, before it is turned into figures."""

    outcomes: list[Outcome]
    elapsed_s: float
    daemon_cpu_s: float
    redis_before: list[NodeSample]
    redis_after: list[NodeSample]
    redis_version: str
    stats: dict[str, Any]  # the sandbox's, summed over the portals
    portal_stats: list[dict[str, Any]]


async def _measure(
    portals: Sequence[BenchPortal],
    records: int,
    daemons: int,
    redis_url: str,
    timeout_s: float,
    adversarial: bool,
) -> Measured:
    """One run: sandbox, Redis flushed, simulations stored, daemons started, every simulation
    started at once and awaited. Everything it started is stopped, also on an error or Ctrl-C."""
    async with AsyncExitStack() as stack:
        nodes = await RedisNodes.open(redis_url)
        stack.push_async_callback(nodes.aclose)
        flags = [arg for p in portals for arg in ("--portal", p.sandbox_flag())]
        extra = ("--adversarial", "--seed", "7") if adversarial else ()
        sandbox, sandbox_url = await start_sandbox_process(TIER, *flags, *extra)
        stack.push_async_callback(_stop, [sandbox])
        scratch = tempfile.mkdtemp(prefix="simcrm-bench-")
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        env = _env(redis_url, sandbox_url, scratch, adversarial=adversarial)
        settings = Settings.from_env(env)
        processes: list[asyncio.subprocess.Process] = []
        stack.push_async_callback(_stop, processes)
        await nodes.flush()
        await nodes.reset_stats()
        store = await stack.enter_async_context(
            Store.open(env["DATABASE_URL"], require_schema=False)
        )
        await store.migrate()
        outcomes = await store_simulations(store, settings, portals, records)
        for _ in range(daemons):
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "engine", env=env, stdout=asyncio.subprocess.DEVNULL
                )
            )
        await asyncio.sleep(2.0)  # let the daemons boot before the clock starts
        before = await nodes.sample()
        elapsed = await run_until_completed(store, nodes, outcomes, timeout_s)
        after = await nodes.sample()
        cpu = sum(_cpu_seconds(p.pid) for p in processes)
        for outcome in outcomes:
            keys = SimKeys(outcome.sim.id, settings.redis.key_prefix)
            outcome.counts = await metrics.read(nodes.client, keys)
        if adversarial:  # stop the daemons, let the lag pass, then count by key
            await _stop(processes)
            await asyncio.sleep(ADVERSARIAL_LAG_MS / 1000)
            for outcome in outcomes:
                outcome.verified = await verify(settings, store, outcome, nodes.client)
        async with aiohttp.ClientSession() as http:
            stats = await _stats(http, sandbox_url)
            by_portal = [await _stats(http, sandbox_url, o.portal.portal_id) for o in outcomes]
        version = await nodes.version()
        return Measured(outcomes, elapsed, cpu, before, after, version, stats, by_portal)


async def run(
    records: int,
    daemons: int,
    redis_url: str,
    timeout_s: float,
    *,
    portal_count: int = 1,
    adversarial: bool = False,
) -> dict[str, Any]:
    """One run's figures (the README lists them)."""
    portals = BenchPortal.numbered(portal_count)
    measured = await _measure(portals, records, daemons, redis_url, timeout_s, adversarial)
    outcomes, elapsed, stats = measured.outcomes, measured.elapsed_s, measured.stats
    by_portal = measured.portal_stats
    written = sum(o.written for o in outcomes)
    requests = int(stats["requests"])
    rate = written / elapsed
    portal_figures = [_portal_figures(o, s) for o, s in zip(outcomes, by_portal, strict=True)]
    return {
        "adversarial": adversarial,
        "daemons": daemons,
        "portal_count": portal_count,
        "records": records,
        "objects_written": written,
        "elapsed_s": round(elapsed, 1),
        "objects_per_s": round(rate, 1),
        "contacts_per_s": round(records * portal_count / elapsed, 1),
        "ceiling_objects_per_s": CEILING * portal_count,
        "fraction_of_ceiling": round(rate / (CEILING * portal_count), 3),
        "min_fraction_of_ceiling": min(p["fraction_of_ceiling"] for p in portal_figures),
        "requests_per_s": round(requests / elapsed, 2),
        "objects_per_request": round(written / requests, 1),
        "peak_requests_10s": stats["peak_10s"],
        "limit_10s": TIER,
        "rate_limited_429": stats["rate_limited_total"],
        "duplicates": sum(stats["duplicates"].values()),
        **_verified_total(outcomes),
        "dead_letters": sum(o.dead_letters for o in outcomes),
        "cpu_s_per_1000_objects": round(measured.daemon_cpu_s / written * 1000, 3),
        **figures(measured.redis_before, measured.redis_after, written),
        "redis_version": measured.redis_version,
        "ratio_to_original": round(rate / (ORIGINAL_RECORDS_PER_S * portal_count), 1),
        "batches": _batches(stats),
        "portals": portal_figures,
    }


def _portal_figures(outcome: Outcome, stats: dict[str, Any]) -> dict[str, Any]:
    written, elapsed = outcome.written, outcome.elapsed_s
    requests = int(stats["requests"])
    return {
        "portal_id": outcome.portal.portal_id,
        "objects_written": written,
        "elapsed_s": round(elapsed, 1),
        "objects_per_s": round(written / elapsed, 1),
        "fraction_of_ceiling": round(written / elapsed / CEILING, 3),
        "requests_per_s": round(requests / elapsed, 2),
        "objects_per_request": round(written / max(requests, 1), 1),
        "peak_requests_10s": stats["peak_10s"],
        "rate_limited_429": stats["rate_limited_total"],
        "duplicates": stats["duplicates_total"],
        "dead_letters": outcome.dead_letters,
        **_verified(outcome.verified),
    }


def _verified_total(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    checked = [o.verified for o in outcomes if o.verified is not None]
    if not checked:
        return {}
    by_type: dict[str, dict[str, int]] = {}
    for result in checked:
        for kind, figures_of_type in _verified(result)["verify_by_type"].items():
            total = by_type.setdefault(kind, dict.fromkeys(figures_of_type, 0))
            for name, value in figures_of_type.items():
                total[name] += value
    return {
        "verify_duplicates": sum(r.duplicates for r in checked),
        "verify_missing": sum(r.missing for r in checked),
        "verify_by_type": by_type,
    }


def _batches(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        call: {"calls": by["calls"], "mean_inputs": round(by["inputs"] / by["calls"], 1)}
        for call, by in stats["batches"].items()
    }


async def _stop(processes: Sequence[asyncio.subprocess.Process]) -> None:
    """Terminate the processes still running and wait for them."""
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await process.wait()


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
    }


def _summary(result: dict[str, Any]) -> str:
    """The human-readable line of one run."""
    portals = result["portal_count"]
    line = (
        f"{result['daemons']} daemon(s), {portals} portal(s): "
        f"{result['objects_per_s']:,.0f} objects/s ({result['fraction_of_ceiling']:.0%} of the "
        f"{result['ceiling_objects_per_s']:,}/s ceiling"
        + (f"; lowest portal {result['min_fraction_of_ceiling']:.0%}" if portals > 1 else "")
        + f"), {result['objects_per_request']} per request, "
        f"peak {result['peak_requests_10s']}/{TIER}, "
        f"{result['rate_limited_429']} × 429, {result['duplicates']} duplicates, "
        f"{result['dead_letters']} dead letters; per 1,000 objects CPU "
        f"{result['cpu_s_per_1000_objects']} s daemons, "
        f"{result['redis_cpu_s_per_1000_objects']} s Redis; per object "
        f"{result['redis_commands_per_object']} Redis commands, "
        f"{result['redis_net_in_bytes_per_object']:,.0f} B in / "
        f"{result['redis_net_out_bytes_per_object']:,.0f} B out; "
        f"Redis peak {result['redis_peak_memory_mb']} MB ({result['redis_masters']} master(s))"
    )
    if result["adversarial"]:
        line += (
            f"; verified: {result['verify_duplicates']} duplicates, "
            f"{result['verify_missing']} missing"
        )
    return line


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench e2e", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    parser.add_argument("--records", type=int, default=50_000, help="contacts to backfill a portal")
    parser.add_argument(
        "--portals",
        type=_positive,
        default=1,
        help=f"portals in the sandbox, each at tier {TIER} with a simulation of its own",
    )
    parser.add_argument("--daemons", default="1,2", help="daemon counts to run, e.g. 1,2")
    parser.add_argument("--timeout", type=float, default=1_800, help="seconds per run at most")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--redis-url",
        help="run on this Redis or Redis Cluster instead of a private embedded one; it is "
        "FLUSHED (the URL's database, or every master of a cluster) and its stats reset",
    )
    where.add_argument(
        "--cluster",
        type=_positive,
        metavar="N",
        help="run on a private loopback Redis Cluster of N masters (the redis-server on PATH, "
        "else the embedded 6.2 binary), stopped afterwards",
    )
    parser.add_argument(
        "--adversarial",
        action="store_true",
        help="the sandbox's adversarial modes on; the run verified by key afterwards",
    )
    return parser


def _redis(stack: ExitStack, args: argparse.Namespace) -> tuple[str, str]:
    """The Redis URL to run on, and how it came: ``url``, ``cluster`` or ``embedded``."""
    if args.redis_url:
        return args.redis_url, "url"
    if args.cluster:
        return stack.enter_context(private_cluster(args.cluster)).url, "cluster"
    return stack.enter_context(EmbeddedRedis()).url, "embedded"


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    configure_logging("warning")
    # SIGTERM unwinds like Ctrl-C: daemons, sandbox and a private cluster are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with ExitStack() as stack:
            url, source = _redis(stack, args)
            for daemons in (int(d) for d in args.daemons.split(",") if d):
                outcome = run(
                    args.records,
                    daemons,
                    url,
                    args.timeout,
                    portal_count=args.portals,
                    adversarial=args.adversarial,
                )
                result = {**asyncio.run(outcome), "redis": source, **_versions()}
                if args.json:
                    print(orjson.dumps(result).decode(), flush=True)
                else:
                    print(_summary(result), flush=True)
    except KeyboardInterrupt:
        print(
            "bench e2e: interrupted; the daemons, the sandbox and any private Redis were stopped",
            file=sys.stderr,
        )
        return 130
    return 0
