"""``simcrm sandbox``: run the local imitation of HubSpot's API until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from engine.settings import Settings
from sandbox import Fault, PortalConfig, Sandbox, SandboxConfig
from sandbox.config import load_config_file
from sandbox.hubspot import ObjectType

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


def _statuses(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("must be a comma-separated list of 5xx statuses") from None


def _object_types(text: str) -> tuple[ObjectType, ...]:
    try:
        return tuple(ObjectType.from_path(item.strip()) for item in text.split(",") if item.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _lag(text: str) -> tuple[int, int | None]:
    """``1000`` (every object) or ``1000-60000`` (each object's lag drawn in that range)."""
    low, dash, high = text.partition("-")
    try:
        return int(low), int(high) if dash else None
    except ValueError:
        raise argparse.ArgumentTypeError("must be MS or MIN-MAX in milliseconds") from None


def _portal(text: str) -> PortalConfig:
    try:
        return PortalConfig.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tier",
        type=int,
        help="requests allowed per token per 10 s (HubSpot: 100, 110, 190 or 250; default 100)",
    )
    parser.add_argument(
        "--daily-limit",
        type=int,
        help="requests allowed per day per account (0: none, no daily headers; default 250000)",
    )
    parser.add_argument(
        "--search-per-second", type=int, help="search requests allowed per second (default 5)"
    )
    parser.add_argument("--latency-ms", type=int, help="added to every response")
    parser.add_argument(
        "--latency-jitter-ms", type=int, help="random extra latency, up to this much"
    )
    parser.add_argument(
        "--retry-after",
        type=int,
        metavar="SECONDS",
        help="send Retry-After with 429 answers (HubSpot usually does not)",
    )
    parser.add_argument(
        "--time-zone", help="the default portal's time zone (daily limits reset at its midnight)"
    )


def _faults_and_modes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--error-rate",
        type=_probability,
        help="probability that a request meets an injected fault (0 to 1)",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        help="faults to inject: 423, 502, 503, 504, 524, drop (connection closed before the "
        "request is applied), lost (applied, then closed before the answer); default 502,503,504",
    )
    modes = parser.add_argument_group(
        "adversarial modes", "how HubSpot really misbehaves; all off by default, all seeded"
    )
    modes.add_argument(
        "--adversarial",
        action="store_true",
        help="turn every mode below on: 3%% of writes applied then 502/504/524, 2%% applied then "
        "timed out, search lag 1-60 s, shuffled results, no trace-id echo, other wordings",
    )
    modes.add_argument(
        "--applied-error-rate",
        type=_probability,
        help="probability that a write is committed and then answered with a gateway error",
    )
    modes.add_argument(
        "--applied-errors",
        type=_statuses,
        help="the gateway errors of --applied-error-rate (default 502,504,524)",
    )
    modes.add_argument(
        "--applied-timeout-rate",
        type=_probability,
        help="probability that a write is committed and its answer never comes",
    )
    modes.add_argument(
        "--applied-timeout-ms",
        type=int,
        help="how long such a connection is held before it is closed (default 30000)",
    )
    modes.add_argument(
        "--search-lag-ms",
        type=_lag,
        metavar="MS|MIN-MAX",
        help="how long new objects stay unsearchable: one figure, or a range to draw each "
        "object's lag from (e.g. 1000-60000); default 1000",
    )
    modes.add_argument(
        "--shuffle-results", action="store_true", help="answer batch results in random order"
    )
    modes.add_argument(
        "--no-trace-echo",
        action="store_true",
        help="leave objectWriteTraceId out of batch results",
    )
    modes.add_argument(
        "--duplicate-wordings",
        action="store_true",
        help="refuse duplicate unique values in HubSpot's other wordings (400 or 409)",
    )
    modes.add_argument(
        "--lifecycle-backwards",
        choices=("ignore", "refuse"),
        help="a contact's lifecycle stage sent backwards is left as it was (ignore, as HubSpot "
        "does; the default) or refused with a 400",
    )


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="run the local HubSpot imitation",
        description=(
            "Serve an imitation of HubSpot's CRM API (objects, batches, search, properties, "
            "pipelines, associations, account info) with HubSpot's status codes, bodies, "
            "validation, rate-limit headers and limits, plus fault injection and adversarial "
            "modes. Each --portal token reaches its own portal; other tokens reach the default "
            "one. Point HUBSPOT_BASE_URL at it. GET /__sandbox/stats reports objects, "
            "duplicates, requests, 429s and the peak number of requests in any 10-second "
            "window, summed and per portal (?portal=ID for one); GET /__sandbox/objects/TYPE "
            "lists what it stored; PATCH /__sandbox/config changes knobs while it runs. Runs "
            "until interrupted (Ctrl-C or SIGTERM)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free one)")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings from a JSON or TOML file (the PATCH /__sandbox/config names, and "
        "portals = [{token, portal_id, tier, daily_limit, time_zone}]); flags override it",
    )
    parser.add_argument(
        "--portal",
        type=_portal,
        action="append",
        default=[],
        metavar="TOKEN:PORTALID[,tier=N,daily=N,tz=Area/City]",
        help="a portal of its own for TOKEN (repeatable)",
    )
    _limits(parser)
    _faults_and_modes(parser)
    parser.add_argument("--seed", type=int, help="seed of every random draw (default 0)")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="a token that reaches the default portal (repeatable); without any, every bearer "
        "token does",
    )
    parser.add_argument("--portal-id", type=int, help="the default portal's id")
    parser.add_argument(
        "--lenient-properties",
        action="store_true",
        help="accept properties the portal does not have",
    )
    parser.add_argument(
        "--deny",
        type=_object_types,
        metavar="TYPES",
        help="object types the token lacks scopes for (403 MISSING_SCOPES), e.g. tickets,deals",
    )
    parser.set_defaults(handler=run)


_FLAGS = {
    "tier": "tier", "daily_limit": "daily_limit", "search_per_second": "search_per_second",
    "latency_ms": "latency_ms", "latency_jitter_ms": "latency_jitter_ms",
    "error_rate": "error_rate", "faults": "faults", "retry_after": "retry_after_s",
    "seed": "seed", "portal_id": "portal_id", "time_zone": "time_zone", "deny": "denied_types",
    "applied_error_rate": "applied_error_rate", "applied_errors": "applied_errors",
    "applied_timeout_rate": "applied_timeout_rate", "applied_timeout_ms": "applied_timeout_ms",
    "lifecycle_backwards": "lifecycle_backwards",
}  # fmt: skip


def config_from(args: argparse.Namespace) -> SandboxConfig:
    """The config the file and the flags describe (flags win); ValueError naming the problem."""
    values: dict[str, Any] = dict(load_config_file(args.config)) if args.config else {}
    values.update({name: getattr(args, flag) for flag, name in _FLAGS.items()
                   if getattr(args, flag) is not None})  # fmt: skip
    if args.search_lag_ms is not None:
        values["search_lag_ms"], values["search_lag_max_ms"] = args.search_lag_ms
    if args.token:
        values["tokens"] = args.token
    if args.portal:
        values["portals"] = [*values.get("portals", ()), *args.portal]
    for flag, name, value in (
        ("lenient_properties", "strict_properties", False),
        ("shuffle_results", "shuffle_results", True),
        ("no_trace_echo", "echo_trace_ids", False),
        ("duplicate_wordings", "duplicate_wordings", True),
        ("adversarial", "adversarial", True),
    ):
        if getattr(args, flag):
            values[name] = value
    return SandboxConfig.from_mapping(values)


def _modes(config: SandboxConfig) -> str:
    modes = []
    if config.applied_error_rate:
        modes.append(f"applied-then-error {config.applied_error_rate}")
    if config.applied_timeout_rate:
        modes.append(f"applied-then-timeout {config.applied_timeout_rate}")
    if config.search_lag_max_ms is not None:
        modes.append(f"search lag {config.search_lag_ms}-{config.search_lag_max_ms} ms")
    if config.shuffle_results:
        modes.append("shuffled results")
    if not config.echo_trace_ids:
        modes.append("no trace echo")
    if config.duplicate_wordings:
        modes.append("duplicate wordings")
    return ", ".join(modes) or "none"


async def run(args: argparse.Namespace, _settings: Settings) -> int:
    try:
        config = config_from(args)
    except (OSError, TypeError, ValueError) as exc:
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
        for portal in config.portals:
            print(
                f"portal {portal.portal_id}: tier {portal.tier or config.tier}/10 s, daily "
                f"{config.daily_limit if portal.daily_limit is None else portal.daily_limit}, "
                f"time zone {portal.time_zone or config.time_zone}",
                flush=True,
            )
        print(f"adversarial modes: {_modes(config)}  (seed {config.seed})", flush=True)
        print(f"stats: {sandbox.url}/__sandbox/stats   stop: Ctrl-C", flush=True)
        await stop.wait()
        stats = sandbox.stats()
    print(
        f"stopped after {stats.requests} requests; objects {sum(stats.objects.values())}, "
        f"duplicates {stats.duplicates_total}, 429s {stats.rate_limited_total}, "
        f"peak {stats.peak_10s}/10 s"
    )
    return 0
