"""Writing a plan row by row: every record and every planned activity with its time.

Rows, in index order, each record followed by its activities (budgets applied in index order):

* a record: ``kind=record``, ``type=contact``, ``index``, ``at`` (ISO 8601 UTC), ``at_ms``,
  ``email``;
* an activity: ``kind=activity``, its ``type`` and ``ordinal``, ``index`` of its record, ``at``,
  ``at_ms``, and ``status`` — ``planned``, ``clipped`` (moved to the window's last millisecond)
  or ``over_budget``.

Activities dropped past the window have no time and are not written (the summary counts them).
The format follows the file name: ``.jsonl`` (one JSON object per line) or ``.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from engine.model.errors import DefinitionError
from engine.model.model import SimulationModel
from engine.model.plan import Progress, Tally, record_plans
from engine.model.spec import from_epoch_ms

COLUMNS = ("kind", "type", "index", "ordinal", "at", "at_ms", "status", "email")
FORMATS = (".jsonl", ".csv")


def _iso(at_ms: int) -> str:
    return from_epoch_ms(at_ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plan_rows(
    model: SimulationModel, progress: Progress | None = None, tally: Tally | None = None
) -> Iterator[dict[str, Any]]:
    """Every row of the plan, in index order; ``tally`` (fresh) counts them on the way."""
    tally = tally if tally is not None else Tally(model)
    records = model.records
    for plan in record_plans(model, range(model.spec.total_records), progress):
        yield {
            "kind": "record",
            "type": "contact",
            "index": plan.index,
            "ordinal": None,
            "at": _iso(plan.at_ms),
            "at_ms": plan.at_ms,
            "status": "planned",
            "email": records.contact(plan.index, plan.at_ms)["email"],
        }
        _, refused = tally.add(plan)
        refused_ids = {id(activity) for activity in refused}
        for activity in plan.activities:
            if id(activity) in refused_ids:
                status = "over_budget"
            else:
                status = "clipped" if activity.clipped else "planned"
            yield {
                "kind": "activity",
                "type": activity.kind.value,
                "index": plan.index,
                "ordinal": activity.ordinal,
                "at": _iso(activity.at_ms),
                "at_ms": activity.at_ms,
                "status": status,
                "email": None,
            }


def export_plan(
    model: SimulationModel,
    path: Path,
    progress: Progress | None = None,
    tally: Tally | None = None,
) -> int:
    """Write the plan to ``path`` (``.jsonl`` or ``.csv``); returns the number of rows.

    A fresh ``tally`` passed in is filled with every record's counts (for :func:`summarize`).

    Raises:
        DefinitionError: naming ``export`` for another extension.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DefinitionError("export", "the file name must end in .jsonl or .csv")
    with path.open("w", encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            return _write_csv(handle, plan_rows(model, progress, tally))
        return _write_jsonl(handle, plan_rows(model, progress, tally))


def _write_jsonl(handle: IO[str], rows_in: Iterator[dict[str, Any]]) -> int:
    rows = 0
    for row in rows_in:
        handle.write(orjson.dumps({k: v for k, v in row.items() if v is not None}).decode())
        handle.write("\n")
        rows += 1
    return rows


def _write_csv(handle: IO[str], rows_in: Iterator[dict[str, Any]]) -> int:
    writer = csv.DictWriter(handle, fieldnames=COLUMNS)
    writer.writeheader()
    rows = 0
    for row in rows_in:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        rows += 1
    return rows
