"""``simcrm sim``: simulations from the command line. ``plan`` is the dry run.

``simcrm sim plan`` shows what a simulation will do — arrivals per day, local hour and weekday,
planned activities per type and budget use, the first and last arrivals, the HubSpot requests it
needs and how long each tier takes — without touching a CRM or Redis. The definition comes from
flags, from a JSON file (``--file``, the API's body; flags given too override its fields) or from
a stored simulation (``--id``, read from the database).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from engine.cli.plan_view import render_summary
from engine.model.capacity import TIERS
from engine.model.errors import DefinitionError
from engine.model.export import export_plan
from engine.model.methods import DistributionMethod
from engine.model.model import SimulationModel
from engine.model.plan import EXACT_LIMIT, Tally, summarize
from engine.model.scenario import SCENARIO_NAMES
from engine.model.spec import SimulationInput, SimulationSpec
from engine.settings import Settings
from schema.store import Store

_FLAG_FIELDS = {
    "name": "name",
    "scenario": "scenario",
    "distribution": "distribution_method",
    "records": "total_records",
    "timezone": "timezone",
    "seed": "seed",
    "time_scale": "time_scale",
    "start": "start_time",
    "end": "end_time",
}


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help="work with simulations (plan: the dry run)",
        description="Work with simulations from the command line.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    plan = actions.add_parser(
        "plan",
        help="show what a simulation will do, without touching a CRM",
        description=(
            "The dry run: arrival histograms per day, local hour and weekday, planned activities "
            "per type with budget use, the first and last arrivals, and the HubSpot requests the "
            "simulation needs with the time each tier (100, 110, 190, 250 requests per 10 s) "
            "takes. Nothing is written anywhere unless --export is given. Without --start the "
            "window starts at the next UTC midnight; without --end it lasts --days days."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    source = plan.add_mutually_exclusive_group()
    source.add_argument("--file", type=Path, help="a JSON file with the simulation body")
    source.add_argument("--id", type=int, help="plan a stored simulation (reads the database)")
    plan.add_argument("--name", help="a name for the plan")
    plan.add_argument("--scenario", choices=SCENARIO_NAMES, help="scenario (default b2b_saas)")
    plan.add_argument(
        "--distribution",
        choices=[m.value for m in DistributionMethod],
        help="arrival distribution (default uniform)",
    )
    plan.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a distribution parameter, e.g. sigma=0.1 or points=[[0,0],[0.5,1],[1,0.2]]",
    )
    plan.add_argument("--records", type=int, help="number of records (default 1000)")
    plan.add_argument("--start", help="window start, ISO 8601 (UTC unless an offset is given)")
    plan.add_argument("--end", help="window end, ISO 8601")
    plan.add_argument("--days", type=float, default=7.0, help="window length when --end is absent")
    plan.add_argument("--timezone", help="IANA timezone for calendars and histograms")
    plan.add_argument(
        "--calendar", help="calendar preset: b2b, b2c or none (default: the scenario's)"
    )
    plan.add_argument("--country", help="country code whose public holidays are quieter")
    plan.add_argument("--calendar-json", help="the whole calendar as a JSON object")
    plan.add_argument("--overrides", help="scenario overrides as JSON, or @FILE")
    plan.add_argument("--seed", type=int, help="seed (default: the simulation id, 0 here)")
    plan.add_argument("--sim-id", type=int, default=0, help="simulation id for keys and emails")
    plan.add_argument("--time-scale", type=float, help="simulated seconds per wall second")
    plan.add_argument("--backfill", action="store_true", default=None, help="everything due now")
    plan.add_argument(
        "--tier", type=int, choices=TIERS, default=100, help="HubSpot requests per 10 s"
    )
    plan.add_argument(
        "--exact",
        action="store_true",
        help=f"plan every record's activities even above {EXACT_LIMIT:,} records (slower)",
    )
    plan.add_argument("--export", type=Path, help="write every record and activity (.jsonl/.csv)")
    plan.add_argument("--json", action="store_true", help="print the summary as JSON")
    plan.set_defaults(handler=run_plan)


def _json_argument(text: str, flag: str) -> Any:
    raw = Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DefinitionError(flag, f"is not valid JSON: {exc}") from None


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise DefinitionError("--param", f"must look like KEY=VALUE (got {text!r})")
    try:
        return key.strip(), orjson.loads(value)
    except orjson.JSONDecodeError:
        return key.strip(), value


def _next_midnight() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def definition_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The simulation body the flags (and ``--file``) describe."""
    body: dict[str, Any] = {}
    if args.file is not None:
        try:
            body = dict(orjson.loads(args.file.read_bytes()))
        except (OSError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise DefinitionError("--file", f"cannot read a JSON object from it: {exc}") from None
    for flag, field in _FLAG_FIELDS.items():
        value = getattr(args, flag)
        if value is not None:
            body[field] = value
    body.setdefault("scenario", "b2b_saas")
    body.setdefault("total_records", 1000)
    if "start_time" not in body:
        body["start_time"] = _next_midnight().isoformat()
    if "end_time" not in body:
        start = datetime.fromisoformat(str(body["start_time"]).replace("Z", "+00:00"))
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        body["end_time"] = (start + timedelta(days=args.days)).isoformat()
    if args.param:
        body["distribution_params"] = {
            **body.get("distribution_params", {}),
            **dict(_param(p) for p in args.param),
        }
    _calendar_flags(args, body)
    if args.overrides is not None:
        body["scenario_overrides"] = _json_argument(args.overrides, "--overrides")
    if args.backfill:
        body["backfill"] = True
    return body


def _calendar_flags(args: argparse.Namespace, body: dict[str, Any]) -> None:
    if args.calendar_json is not None:
        body["calendar"] = _json_argument(args.calendar_json, "--calendar-json")
    if args.calendar is not None:
        body["calendar"] = {**body.get("calendar", {}), "preset": args.calendar}
    if args.country is not None:
        body["calendar"] = {**body.get("calendar", {}), "country": args.country}


async def _spec(args: argparse.Namespace, settings: Settings) -> SimulationSpec:
    if args.id is not None:
        async with Store.open(settings.resolved_database_url()) as store:
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
