"""``simcrm sandbox``: run the local imitation of HubSpot's API until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from engine.crm.objects import ObjectType
from engine.settings import Settings
from sandbox import DEFAULT_FAULTS, Fault, Sandbox, SandboxConfig

DEFAULT_PORT = 8090


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be a number from 0 to 1")
    return value


def _faults(text: str) -> tuple[Fault, ...]:
    try:
        return tuple(Fault(item.strip()) for item in text.split(",") if item.strip())
    except ValueError:
        choices = ", ".join(f.value for f in Fault)
        raise argparse.ArgumentTypeError(f"must be a comma-separated list of: {choices}") from None


def _object_types(text: str) -> tuple[ObjectType, ...]:
    try:
        return tuple(ObjectType.from_path(item.strip()) for item in text.split(",") if item.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="run the local HubSpot imitation",
        description=(
            "Serve an imitation of HubSpot's CRM API (objects, batches, search, properties, "
            "associations, account info) with HubSpot's status codes, bodies, rate-limit "
            "headers and limits, plus fault injection. Point HUBSPOT_BASE_URL at it. "
            "GET /__sandbox/stats reports objects, duplicates, requests, 429s and the peak "
            "number of requests in any 10-second window; GET /__sandbox/objects/TYPE lists "
            "what it stored. Runs until interrupted (Ctrl-C or SIGTERM)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free one)")
    parser.add_argument(
        "--tier",
        type=int,
        default=100,
        help="requests allowed per token per 10 s (HubSpot: 100, 110, 190 or 250)",
    )
    parser.add_argument(
        "--daily-limit",
        type=int,
        default=250_000,
        help="requests allowed per day for the account (0: no daily limit, no daily headers)",
    )
    parser.add_argument(
        "--search-per-second", type=int, default=5, help="search requests allowed per second"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every response")
    parser.add_argument(
        "--latency-jitter-ms", type=int, default=0, help="random extra latency, up to this much"
    )
    parser.add_argument(
        "--error-rate",
        type=_probability,
        default=0.0,
        help="probability that a request meets an injected fault (0 to 1)",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        default=DEFAULT_FAULTS,
        help="faults to inject: 423, 502, 503, 504, 524, drop (connection closed before the "
        "request is applied), lost (applied, then closed before the answer); default 502,503,504",
    )
    parser.add_argument(
        "--retry-after",
        type=int,
        default=None,
        metavar="SECONDS",
        help="send Retry-After with 429 answers (HubSpot usually does not)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault injection RNG")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="a token that authenticates (repeatable); without any, every bearer token does",
    )
    parser.add_argument("--portal-id", type=int, default=62_515_000, help="the account's id")
    parser.add_argument(
        "--search-lag-ms", type=int, default=1_000, help="how long new objects stay unsearchable"
    )
    parser.add_argument(
        "--lenient-properties",
        action="store_true",
        help="accept simcrm_* properties that were never created",
    )
    parser.add_argument(
        "--deny",
        type=_object_types,
        default=(),
        metavar="TYPES",
        help="object types the token lacks scopes for (403 MISSING_SCOPES), e.g. tickets,deals",
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, _settings: Settings) -> int:
    try:
        config = SandboxConfig(
            tier=args.tier,
            daily_limit=args.daily_limit,
            search_per_second=args.search_per_second,
            latency_ms=args.latency_ms,
            latency_jitter_ms=args.latency_jitter_ms,
            error_rate=args.error_rate,
            faults=args.faults,
            retry_after_s=args.retry_after,
            seed=args.seed,
            tokens=tuple(args.token),
            portal_id=args.portal_id,
            search_lag_ms=args.search_lag_ms,
            strict_properties=not args.lenient_properties,
            denied_types=args.deny,
        )
    except ValueError as exc:
        print(f"simcrm sandbox: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Sandbox(config, host=args.host, port=args.port) as sandbox:
        faults = ",".join(config.faults) if config.error_rate else "none"
        print(
            f"HubSpot sandbox on {sandbox.url}  (tier {config.tier}/10 s, daily "
            f"{config.daily_limit or 'unlimited'}, latency {config.latency_ms} ms, "
            f"error rate {config.error_rate} [{faults}], portal {config.portal_id})",
            flush=True,
        )
        print(f"stats: {sandbox.url}/__sandbox/stats   stop: Ctrl-C", flush=True)
        await stop.wait()
        stats = sandbox.stats()
    print(
        f"stopped after {stats.requests} requests; objects {sum(stats.objects.values())}, "
        f"duplicates {stats.duplicates_total}, 429s {stats.rate_limited_total}, "
        f"peak {stats.peak_10s}/10 s"
    )
    return 0
