"""``simcrm sim``: simulations from the command line. ``plan`` is the dry run.

``simcrm sim plan`` shows what a simulation will do — arrivals per day, local hour and weekday,
planned activities per type and budget use, the first and last arrivals, the HubSpot requests it
needs and how long each tier takes — without touching a CRM or Redis. The definition comes from
flags, from a JSON file (``--file``, the API's body; flags given too override its fields) or from
a stored simulation (``--id``, read from the database).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cli import sim_client
from cli.plan_view import render_summary
from cli.sim_definition import add_definition_flags, definition_from_args
from engine.model.errors import DefinitionError
from engine.model.export import export_plan
from engine.model.model import SimulationModel
from engine.model.plan import EXACT_LIMIT, Tally, summarize
from engine.model.spec import SimulationInput, SimulationSpec
from engine.settings import Settings
from limits.config import DEFAULT_TIER, TIERS
from schema.store import Store


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help="create, run, watch and plan simulations",
        description=(
            "Work with simulations: plan (the dry run, no server needed) and, through the API "
            "(SIMCRM_API_URL, SIMCRM_API_KEY), create, list, show, start, pause, resume, cancel, "
            "watch, verify, and (boss) dlq and replay."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    plan = actions.add_parser(
        "plan",
        help="show what a simulation will do, without touching a CRM",
        description=(
            "The dry run: arrival histograms per day, local hour and weekday, planned activities "
            "per type with budget use, the first and last arrivals, and the HubSpot requests the "
            f"simulation needs with the time each tier ({', '.join(map(str, TIERS))} requests "
            "per 10 s) takes. Nothing is written anywhere unless --export is given. Without "
            "--start the window starts at the next UTC midnight; without --end it lasts --days "
            "days."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    source = plan.add_mutually_exclusive_group()
    source.add_argument("--file", type=Path, help="a JSON file with the simulation body")
    source.add_argument("--id", type=int, help="plan a stored simulation (reads the database)")
    add_definition_flags(plan)
    plan.add_argument("--sim-id", type=int, default=0, help="simulation id for keys and emails")
    plan.add_argument(
        "--tier", type=int, choices=TIERS, default=DEFAULT_TIER, help="HubSpot requests per 10 s"
    )
    plan.add_argument(
        "--exact",
        action="store_true",
        help=f"plan every record's activities even above {EXACT_LIMIT:,} records (slower)",
    )
    plan.add_argument("--export", type=Path, help="write every record and activity (.jsonl/.csv)")
    plan.add_argument("--json", action="store_true", help="print the summary as JSON")
    plan.set_defaults(handler=run_plan)
    sim_client.register_actions(actions)


async def _spec(args: argparse.Namespace, settings: Settings) -> SimulationSpec:
    if args.id is not None:
        async with Store.open(settings.database.resolved_url()) as store:
            row = await store.simulations.get(args.id)
        return SimulationSpec.from_row(row)
    return SimulationInput.parse(definition_from_args(args)).to_spec(args.sim_id)


async def run_plan(args: argparse.Namespace, settings: Settings) -> int:
    try:
        spec = await _spec(args, settings)
    except DefinitionError as exc:
        print(f"simcrm: {exc}")
        return 2
    model = SimulationModel(spec)
    console = Console(stderr=args.json)
    quiet = args.json or not console.is_terminal
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as progress:
        task = progress.add_task("planning activities", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        rows = None
        tally = None
        if args.export is not None:
            # The export plans every record; its tally makes the summary exact for free.
            progress.update(task, description=f"writing {args.export}")
            tally = Tally(model)
            try:
                rows = export_plan(model, args.export, advance, tally)
            except DefinitionError as exc:
                print(f"simcrm: {exc}")
                return 2
        summary = summarize(model, tiers=TIERS, exact=args.exact, progress=advance, tally=tally)
    if args.json:
        document = summary.as_json()
        document["tier"] = args.tier
        if rows is not None:
            document["export"] = {"path": str(args.export), "rows": rows}
        print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return 0
    render_summary(Console(), summary, args.tier)
    if rows is not None:
        Console().print(f"Wrote {rows:,} rows to {args.export}.")
    return 0
