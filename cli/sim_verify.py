"""``simcrm sim verify ID [--fix]``: a simulation's objects counted in its CRM, through the API.

Prints, per object type, what the run planned and created, how many objects carrying its keys
the CRM holds, and the duplicates and missing objects it found (with some of their keys). Exits
0 when every recorded object is in the CRM exactly once (after the fix, with ``--fix``), 1
otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from cli.api_client import ApiClient

COLUMNS = ("planned", "created", "inCrm", "duplicates", "missing", "unrecorded", "archived")
HEADINGS = ("planned", "created", "in the CRM", "duplicates", "missing", "unrecorded", "archived")


def register(actions: Any, common: Any) -> None:
    """Add ``verify`` to the ``simcrm sim`` actions (``common`` adds --json and the runner)."""
    parser: argparse.ArgumentParser = actions.add_parser(
        "verify",
        help="count a simulation's objects in its CRM: duplicates and missing",
        description=(
            "Search the simulation's CRM account for every object carrying its id, group them "
            "by simcrm_key, and compare with what the run planned and recorded: duplicates "
            "(more than one object for a key) and missing objects per type. With --fix, archive "
            "each key's extras, keeping the object the run recorded (else the oldest); only a "
            "simulation that has ended is fixed. HubSpot's search lags writes by up to a minute: "
            "verify a minute after the run for a final count. Exits 1 when anything is doubled "
            "or missing."
        ),
    )
    parser.add_argument("id", type=int, help="simulation id")
    parser.add_argument("--fix", action="store_true", help="archive the duplicates found")
    common(parser, run_verify)


async def run_verify(client: ApiClient, args: argparse.Namespace) -> int:
    path = f"/api/simulations/{args.id}/verify"
    result = await (client.call("POST", f"{path}/fix") if args.fix else client.call("GET", path))
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        render(Console(), result)
    return 0 if result["ok"] else 1


def render(console: Console, result: dict[str, Any]) -> None:
    table = Table(
        title=f"Simulation {result['simulationId']} ({result['status']}) in the CRM",
        title_justify="left",
        box=None,
        header_style="bold",
    )
    table.add_column("type")
    for heading in HEADINGS:
        if heading != "archived" or result["fixed"]:
            table.add_column(heading, justify="right")
    for check in result["types"]:
        columns = [c for c in COLUMNS if c != "archived" or result["fixed"]]
        table.add_row(check["objectType"], *(f"{check[c]:,}" for c in columns))
    console.print(table)
    for check in result["types"]:
        if check["duplicateKeys"]:
            console.print(f"doubled {check['objectType']}: {', '.join(check['duplicateKeys'])}")
        if check["missingKeys"]:
            console.print(f"missing {check['objectType']}: {', '.join(check['missingKeys'])}")
    if result["fixed"]:
        left = result["duplicatesLeft"]
        console.print(f"archived {result['duplicates'] - left:,} duplicates; {left:,} left")
    verdict = "every recorded object is in the CRM exactly once"
    if not result["ok"]:
        verdict = f"{result['duplicatesLeft']:,} duplicates, {result['missing']:,} missing"
    console.print(verdict)
