"""``python -m engine`` / ``simcrm worker``: run one daemon until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from engine.logs import configure_logging
from engine.redis_endpoint import redis_endpoint
from engine.runtime.availability import StartAborted
from engine.runtime.engine import EXIT_MISCONFIGURED, Engine, MissingTokenSecret
from engine.settings import Settings, SettingsError, load_settings

SIGNALS = (signal.SIGINT, signal.SIGTERM)

DESCRIPTION = (
    "Run a SimCRM worker daemon: queue consumers for every shard, the delayed-job mover, "
    "segment expansion, the stalled-job reaper and counter flushing. Start as many as you like, "
    "on as many machines: they share the work through Redis. SIGINT or SIGTERM stops it "
    "gracefully (in-flight jobs finish, the rest is handed to another daemon). When Redis or "
    "the database is down at start it waits for them. Exit status: 0 stopped, 2 bad usage or "
    "settings, 3 TOKEN_ENC_SECRET missing while HubSpot tokens are stored."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shards",
        type=int,
        default=None,
        metavar="N",
        help="number of queue shards (default: SIMCRM_QUEUE_SHARDS); every daemon and the API "
        "must use the same number",
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    shards = args.shards
    if shards is not None and not 1 <= shards <= 1024:
        print(f"simcrm: --shards must be an integer from 1 to 1024 (got {shards})")
        return 2
    if shards is not None:
        settings = settings.replace(SIMCRM_QUEUE_SHARDS=shards)
    loop = asyncio.get_running_loop()
    with redis_endpoint(settings) as endpoint:
        engine = Engine(settings, redis_url=endpoint.url)
        for sig in SIGNALS:  # from the start: a stop also ends a wait for Redis or the database
            loop.add_signal_handler(sig, engine.request_stop)
        try:
            async with engine:
                await engine.run()
        except StartAborted:
            return 0
        except MissingTokenSecret as exc:
            print(f"simcrm worker: {exc}", file=sys.stderr)
            return EXIT_MISCONFIGURED
        finally:
            for sig in SIGNALS:
                loop.remove_signal_handler(sig)
    return engine.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m engine``: parse the options, read the settings, run until a signal.

    Exit codes as ``simcrm``'s: 0 stopped cleanly, 2 bad usage or settings; 3 (the settings
    cannot serve what the store holds: TOKEN_ENC_SECRET missing while HubSpot tokens are stored,
    at start or when a job first needs one).
    """
    parser = argparse.ArgumentParser(prog="python -m engine", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"python -m engine: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.observability.log_level, settings.observability.log_format)
    try:
        return asyncio.run(run(args, settings))
    except KeyboardInterrupt:
        return 130
