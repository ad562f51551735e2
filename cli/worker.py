"""``simcrm worker``: the worker daemon (also ``python -m engine``)."""

from __future__ import annotations

import argparse
from typing import Any

from engine import daemon


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "worker", help="run a worker daemon", description=daemon.DESCRIPTION
    )
    daemon.add_arguments(parser)
    parser.set_defaults(handler=daemon.run)
