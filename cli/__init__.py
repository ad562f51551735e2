"""The ``simcrm`` command: one subcommand per module in this package.

Each module has ``register(subparsers)``, which adds its parser and sets ``handler``, an async
function ``(args, settings) -> int`` returning the exit code. Settings are read from the
environment once, here; a bad value ends the command with one line naming the variable (exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import structlog

from cli import (
    cleanup,
    demo,
    dlq,
    doctor,
    keys,
    limits,
    migrate,
    queue,
    sandbox,
    serve,
    sim,
    tokens,
    users,
    worker,
)
from engine.logs import configure_logging
from engine.settings import SettingsError, load_settings
from schema.errors import StoreError

COMMANDS = (
    demo,
    migrate,
    users,
    keys,
    tokens,
    doctor,
    sim,
    sandbox,
    worker,
    cleanup,
    serve,
    dlq,
    limits,
    queue,
)

EPILOG = """\
Settings come from environment variables (DATABASE_URL, REDIS_URL, TOKEN_ENC_SECRET, …);
README.md lists them all. Run `simcrm COMMAND --help` for a command's options.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simcrm",
        description="SimCRM fills a CRM with realistic activity over time.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``simcrm``; returns the exit code (0 ok, 1 failed, 2 bad usage or settings)."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"simcrm: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.observability.log_level, settings.observability.log_format)
    try:
        return int(asyncio.run(args.handler(args, settings)))
    except StoreError as exc:
        print(f"simcrm: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        structlog.get_logger().exception("command_failed", command=args.command)
        print(f"simcrm: {args.command} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
