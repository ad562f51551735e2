"""``simcrm sim create|list|show|start|pause|resume|cancel|watch|verify|dlq|replay``: API calls.

It talks to SIMCRM_API_URL (default http://127.0.0.1:8080) with SIMCRM_API_KEY, and prints what
the API answers: a table, or JSON with ``--json``. An error answer is printed as one line naming
the field or the conflict, and the command exits 1 (2 for bad usage, such as a missing key).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from cli import sim_verify
from cli.api_client import ApiClient, ApiFailure
from cli.sim_definition import add_definition_flags, definition_from_args
from cli.sim_watch import watch
from engine.model.errors import DefinitionError
from engine.settings import Settings

Action = Callable[[ApiClient, argparse.Namespace], Awaitable[int]]
CATEGORIES = "rate_limit, auth, validation, conflict, not_found, server, network, stalled, unknown"


def register_actions(actions: Any) -> None:
    """Add the API client's actions to the ``simcrm sim`` parser."""
    create = actions.add_parser(
        "create",
        help="create a simulation through the API",
        description=(
            "Create a simulation (a draft) from flags and/or a JSON body (--file). Without "
            "--start the window starts at the next UTC midnight; without --end it lasts --days "
            "days. --run starts it at once."
        ),
    )
    create.add_argument("--file", type=Path, help="a JSON file with the simulation body")
    add_definition_flags(create)
    create.add_argument("--target", choices=("sandbox", "hubspot"), help="where objects go")
    create.add_argument("--run", action="store_true", help="start it right after creating it")
    _common(create, run_create)

    listing = actions.add_parser("list", help="list simulations", description="List simulations.")
    listing.add_argument("--status", help="only this status (draft, running, paused …)")
    listing.add_argument("--limit", type=int, default=50, help="most to list (1-500)")
    _common(listing, run_list)

    show = actions.add_parser(
        "show", help="show a simulation and its counts", description="Show one simulation."
    )
    show.add_argument("id", type=int, help="simulation id")
    _common(show, run_show)

    for action, text in (
        ("start", "start a draft simulation"),
        ("pause", "pause a running simulation"),
        ("resume", "resume a paused simulation"),
        ("cancel", "cancel a simulation (queued work is dropped)"),
    ):
        parser = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        parser.add_argument("id", type=int, help="simulation id")
        _common(parser, _lifecycle(action))

    watching = actions.add_parser(
        "watch",
        help="show live progress until the simulation ends",
        description=(
            "Show progress bars per object type (created of planned) until the simulation ends. "
            "Exits 0 when it completes, 1 when it is cancelled or fails."
        ),
    )
    watching.add_argument("id", type=int, help="simulation id")
    watching.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    _common(watching, run_watch)

    dlq = actions.add_parser(
        "dlq",
        help="dead letters of a simulation (boss)",
        description="Dead letters of a simulation by category, and the newest samples (boss).",
    )
    dlq.add_argument("id", type=int, help="simulation id")
    _common(dlq, run_dlq)

    replay = actions.add_parser(
        "replay",
        help="replay dead letters (boss; a dry run unless --execute)",
        description=(
            "Replay a simulation's dead letters. Without --execute this is a dry run that shows "
            "what would be replayed. The server caps --limit at DLQ_REPLAY_LIMIT_CAP and allows "
            "5 calls per 30 s."
        ),
    )
    replay.add_argument("id", type=int, help="simulation id")
    replay.add_argument("--categories", help=f"comma-separated, from: {CATEGORIES}")
    replay.add_argument("--limit", type=int, help="most dead letters to replay")
    replay.add_argument("--full-retry", action="store_true", help="give replayed jobs every retry")
    replay.add_argument("--execute", action="store_true", help="replay for real")
    _common(replay, run_replay)
    sim_verify.register(actions, _common)


def _common(parser: argparse.ArgumentParser, action: Action) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    parser.set_defaults(handler=_runner(action))


def _runner(action: Action) -> Callable[[argparse.Namespace, Settings], Awaitable[int]]:
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        if settings.api.key is None:
            print("simcrm: set SIMCRM_API_KEY to your API key (`simcrm users create` prints one)")
            return 2
        try:
            async with ApiClient(settings.api.url, settings.api.key) as client:
                return await action(client, args)
        except ApiFailure as exc:
            print(f"simcrm: {exc}")
            return 1
        except DefinitionError as exc:
            print(f"simcrm: {exc}")
            return 2

    return run


def _print_json(data: Any) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _sim_table(sims: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("id", "name", "status", "scenario", "records", "window", "target"):
        table.add_column(column, justify="right" if column in ("id", "records") else "left")
    for sim in sims:
        table.add_row(
            str(sim["id"]),
            sim["name"],
            sim["status"],
            sim["scenario"],
            f"{sim['total_records']:,}",
            f"{sim['start_time'][:16]} → {sim['end_time'][:16]}",
            sim["target"],
        )
    return table


async def run_create(client: ApiClient, args: argparse.Namespace) -> int:
    body = definition_from_args(args)
    if args.target is not None:
        body["target"] = args.target
    sim = await client.call("POST", "/api/simulations", body)
    if args.run:
        sim = await client.call("POST", f"/api/simulations/{sim['id']}/start")
    if args.json:
        _print_json(sim)
    else:
        print(f"Created simulation {sim['id']} ({sim['status']}).")
    return 0


async def run_list(client: ApiClient, args: argparse.Namespace) -> int:
    query = f"?limit={args.limit}" + (f"&status={args.status}" if args.status else "")
    data = await client.call("GET", f"/api/simulations{query}")
    if args.json:
        _print_json(data)
    elif not data["simulations"]:
        print("No simulations.")
    else:
        Console().print(_sim_table(data["simulations"]))
    return 0


async def run_show(client: ApiClient, args: argparse.Namespace) -> int:
    sim = await client.call("GET", f"/api/simulations/{args.id}")
    metrics = await client.call("GET", f"/api/simulations/{args.id}/metrics")
    if args.json:
        _print_json({"simulation": sim, "metrics": metrics})
        return 0
    console = Console()
    console.print(_sim_table([sim]))
    table = Table(title=f"counts (from {metrics['source']})", box=None, header_style="bold")
    names = ("scheduled", "created", "updated", "failed", "dead", "thinned", "rate_limited")
    table.add_column("type")
    for name in names:
        table.add_column(name, justify="right")
    for job_type, counts in sorted(metrics["counts"].items()):
        if job_type != "all":
            table.add_row(job_type, *(f"{counts.get(name, 0):,}" for name in names))
    console.print(table)
    return 0


def _lifecycle(action: str) -> Action:
    async def run(client: ApiClient, args: argparse.Namespace) -> int:
        sim = await client.call("POST", f"/api/simulations/{args.id}/{action}")
        if args.json:
            _print_json(sim)
        else:
            print(f"Simulation {sim['id']} is {sim['status']}.")
        return 0

    return run


async def run_watch(client: ApiClient, args: argparse.Namespace) -> int:
    return await watch(client, args.id, interval_s=max(0.1, args.interval), as_json=args.json)


async def run_dlq(client: ApiClient, args: argparse.Namespace) -> int:
    data = await client.call("GET", f"/api/simulations/{args.id}/dlq")
    if args.json:
        _print_json(data)
        return 0
    if data["source"] == "redis-disabled":
        print("Redis is down: dead letters cannot be read now.")
        return 1
    print(f"{data['total']:,} dead letters.")
    for category, count in sorted(data["counts"].items()):
        print(f"  {category:<12} {count:,}")
    if data["samples"]:
        table = Table(title="newest", box=None, header_style="bold")
        for column in ("job", "category", "attempts", "error"):
            table.add_column(column)
        for sample in data["samples"]:
            table.add_row(
                f"{sample['type']} {sample['id']}",
                sample["category"],
                str(sample["attempts"]),
                sample["error"],
            )
        Console().print(table)
    return 0


async def run_replay(client: ApiClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"dryRun": not args.execute, "useFullRetry": args.full_retry}
    if args.categories:
        body["categories"] = [c.strip() for c in args.categories.split(",") if c.strip()]
    if args.limit is not None:
        body["limit"] = args.limit
    result = await client.call("POST", f"/api/simulations/{args.id}/dlq/replay", body)
    if args.json:
        _print_json(result)
        return 0
    selected = ", ".join(f"{c} {n:,}" for c, n in sorted(result["selected"].items())) or "none"
    if result["dryRun"]:
        print(f"Dry run: {result['selectedTotal']:,} selected ({selected}).")
        print(f"A replay would move at most {result['limit']} (cap {result['cap']}).")
    else:
        print(f"Replayed {result['replayed']:,} of {result['selectedTotal']:,} ({selected}).")
    return 0
