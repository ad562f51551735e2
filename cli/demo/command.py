"""``simcrm demo``: a whole simulation end to end, on nothing but this machine."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from cli.demo.runner import DemoOptions, run_demo
from engine.logs import configure_logging
from engine.model import SCENARIO_NAMES
from engine.settings import Settings
from limits import TIERS


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run a whole simulation end to end on the built-in HubSpot sandbox",
        description=(
            "Run a simulation from start to finish with nothing to set up: Redis is found or "
            "started, the database is a temporary SQLite file (unless DATABASE_URL is set), and "
            "the CRM is the built-in HubSpot sandbox at a real HubSpot rate-limit tier. The API "
            "and dashboard are served meanwhile. Shows live progress per object type, then a "
            "summary: planned vs created, duplicates in the sandbox, 429s met, dead letters, "
            "throughput. Exits 0 when the simulation completed with no duplicate."
        ),
    )
    parser.add_argument(
        "--records", type=int, default=2_000, help="contacts to create (default 2000)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        metavar="X",
        help="play a one-day window X times faster than real time (e.g. 3600: a day in 24 s); "
        "without it the demo backfills the past week as fast as the rate limits allow",
    )
    parser.add_argument("--shards", type=int, default=1, help="queue shards (default 1)")
    parser.add_argument(
        "--scenario",
        default="b2b_saas",
        choices=SCENARIO_NAMES,
        help="what kind of team's CRM to fill (default b2b_saas)",
    )
    parser.add_argument(
        "--tier",
        type=int,
        default=190,
        choices=TIERS,
        help="the sandbox's HubSpot burst limit, requests per 10 s (default 190)",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="dashboard port (any free one if taken)"
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="keep the dashboard up after the summary, until Ctrl-C",
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    problems = []
    if not 1 <= args.records <= 10_000_000:
        problems.append(f"--records must be from 1 to 10000000 (got {args.records})")
    if args.time_scale is not None and args.time_scale < 1:
        problems.append(f"--time-scale must be at least 1 (got {args.time_scale:g})")
    if not 1 <= args.shards <= 1024:
        problems.append(f"--shards must be from 1 to 1024 (got {args.shards})")
    if problems:
        for problem in problems:
            print(f"simcrm: {problem}")
        return 2
    # The progress bars own the terminal: only warnings and errors are logged meanwhile.
    configure_logging("warning", settings.observability.log_format)
    options = DemoOptions(
        records=args.records,
        time_scale=args.time_scale,
        shards=args.shards,
        scenario=args.scenario,
        tier=args.tier,
        port=args.port,
        serve=args.serve,
    )
    return await run_demo(settings, options, Console())
