"""What the demo shows: a live progress bar per object type, then the summary table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from engine.model.objects import created_object_type
from engine.runtime.jobs import JOB_TYPES
from engine.runtime.metrics import Counts

ORDER = JOB_TYPES  # contacts, then activity types in plan order


def done_of(by_metric: Mapping[str, int]) -> int:
    """Jobs of a type that reached an end: written, dead, or skipped."""
    return sum(by_metric.get(m, 0) for m in ("created", "updated", "dead", "skipped"))


class LiveProgress:
    """One bar per type, sized by what is planned so far (planning grows as contacts land)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:>18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> LiveProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def update(self, counts: Counts, records: int) -> None:
        for kind in ORDER:
            by_metric = counts.get(kind, {})
            planned = records if kind == "contact" else by_metric.get("scheduled", 0)
            if not planned and kind not in self._tasks:
                continue
            note = ""
            if by_metric.get("dead"):
                note = f"{by_metric['dead']} dead"
            if kind not in self._tasks:
                self._tasks[kind] = self.progress.add_task(kind, total=planned, note=note)
            self.progress.update(
                self._tasks[kind], total=planned, completed=done_of(by_metric), note=note
            )


@dataclass(frozen=True, slots=True)
class Summary:
    counts: Counts
    stored: Mapping[str, int]
    duplicates: Mapping[str, int]
    missing: int
    verified: bool  # stored, duplicates and missing counted by key in the CRM (verify)
    rate_limited: int
    dead_letters: int
    requests: int
    peak_10s: int
    limit_10s: int
    elapsed_s: float
    status: str
    dashboard_url: str
    api_key: str

    @property
    def written(self) -> int:
        return sum(
            by.get("created", 0) + by.get("updated", 0)
            for kind, by in self.counts.items()
            if kind != "all"
        )


def render_summary(console: Console, summary: Summary) -> None:
    table = Table(title=f"Simulation {summary.status}", title_justify="left")
    for column in (
        "type",
        "planned",
        "created",
        "dead letters",
        "thinned",
        "in the CRM",
        "duplicates",
    ):
        table.add_column(column, justify="left" if column == "type" else "right")
    for kind in ORDER:
        by = summary.counts.get(kind, {})
        if not by:
            continue
        plural = _object_path(kind)
        written = by.get("created", 0) + by.get("updated", 0)
        table.add_row(
            kind,
            f"{by.get('scheduled', 0):,}",
            f"{written:,}",
            f"{by.get('dead', 0):,}",
            f"{by.get('thinned', 0):,}",
            f"{summary.stored.get(plural, 0):,}" if plural else "—",
            f"{summary.duplicates.get(plural, 0):,}" if plural else "—",
        )
    console.print(table)
    rate = summary.written / summary.elapsed_s if summary.elapsed_s else 0.0
    source = " (verified in the CRM by key)" if summary.verified else " (sandbox count)"
    lines = [
        f"elapsed            {summary.elapsed_s:.1f} s",
        f"objects written    {summary.written:,} ({rate:,.0f}/s) in {summary.requests:,} requests",
        f"busiest 10 s       {summary.peak_10s} requests (limit {summary.limit_10s})",
        f"429s met           {summary.rate_limited}",
        f"dead letters       {summary.dead_letters}",
        f"duplicates         {sum(summary.duplicates.values())}{source}",
        f"missing            {summary.missing}{source}",
        f"dashboard          {summary.dashboard_url}",
        f"API key            {summary.api_key}",
    ]
    console.print("\n".join(lines))


def _object_path(kind: str) -> str | None:
    object_type = created_object_type(kind)
    return object_type.path if object_type is not None else None
