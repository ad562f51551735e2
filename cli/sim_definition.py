"""The flags that describe a simulation, shared by ``simcrm sim plan`` and ``simcrm sim create``.

A definition comes from flags, from a JSON file (``--file``, the API's body; flags given too
override its fields), or both; :func:`definition_from_args` turns them into the API's body.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from engine.model.errors import DefinitionError
from engine.model.methods import DistributionMethod
from engine.model.scenario import SCENARIO_NAMES

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


def add_definition_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that describe a simulation (``plan`` and ``create`` share them)."""
    parser.add_argument("--name", help="a name for the simulation")
    parser.add_argument("--scenario", choices=SCENARIO_NAMES, help="scenario (default b2b_saas)")
    parser.add_argument(
        "--distribution",
        choices=[m.value for m in DistributionMethod],
        help="arrival distribution (default uniform)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a distribution parameter, e.g. sigma=0.1 or points=[[0,0],[0.5,1],[1,0.2]]",
    )
    parser.add_argument("--records", type=int, help="number of records (default 1000)")
    parser.add_argument("--start", help="window start, ISO 8601 (UTC unless an offset is given)")
    parser.add_argument("--end", help="window end, ISO 8601")
    parser.add_argument(
        "--days", type=float, default=7.0, help="window length when --end is absent"
    )
    parser.add_argument("--timezone", help="IANA timezone for calendars and histograms")
    parser.add_argument(
        "--calendar", help="calendar preset: b2b, b2c or none (default: the scenario's)"
    )
    parser.add_argument("--country", help="country code whose public holidays are quieter")
    parser.add_argument("--calendar-json", help="the whole calendar as a JSON object")
    parser.add_argument("--overrides", help="scenario overrides as JSON, or @FILE")
    parser.add_argument("--seed", type=int, help="seed (default: the simulation id, 0 here)")
    parser.add_argument("--time-scale", type=float, help="simulated seconds per wall second")
    parser.add_argument("--backfill", action="store_true", default=None, help="everything due now")


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
