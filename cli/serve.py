"""``simcrm serve``: the HTTP API and the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from api.server import start_server
from engine.redis_endpoint import redis_endpoint
from engine.settings import Settings
from streams.errors import ReshardInProgress, ShardCountMismatch


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the HTTP API and the dashboard",
        description=(
            "Serve the JSON API (/api/…, described at /api/openapi.json), the dashboard (/) and, "
            "with METRICS_PROM_ENABLED=1, Prometheus metrics (/metrics). Simulations run in "
            "worker daemons (`simcrm worker`); the API only records what to do and reports how "
            "it goes. SIGINT or SIGTERM stops it."
        ),
    )
    parser.add_argument("--host", help="address to listen on (default: SIMCRM_API_HOST, 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: SIMCRM_API_PORT, 8080; 0: any free)"
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.api.host
    port = settings.api.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        print(f"simcrm: --port must be from 0 to 65535 (got {port})")
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with redis_endpoint(settings) as endpoint:
        try:
            running = await start_server(settings, redis_url=endpoint.url, host=host, port=port)
        except (ShardCountMismatch, ReshardInProgress) as exc:
            print(f"simcrm: {exc}", file=sys.stderr)
            return 2
        try:
            print(f"SimCRM API and dashboard on {running.url}/", flush=True)
            await stop.wait()
        finally:
            await running.close()
    return 0
