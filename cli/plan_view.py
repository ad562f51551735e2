"""Terminal rendering of a plan summary (``simcrm sim plan``) with rich."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from rich.console import Console
from rich.table import Table

from engine.model.plan import PlanSummary
from engine.model.spec import from_epoch_ms

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_BAR_WIDTH = 40
_MAX_DAY_ROWS = 62


def _bar(count: int, largest: int) -> str:
    if largest <= 0:
        return ""
    eighths = round(count / largest * _BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[part]


def _histogram(title: str, rows: Sequence[tuple[str, int]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(justify="right", style="cyan")
    table.add_column(justify="right")
    table.add_column(style="green")
    largest = max((count for _, count in rows), default=0)
    for label, count in rows:
        table.add_row(label, f"{count:,}", _bar(count, largest))
    return table


def _days(per_day: Sequence[tuple[date, int]]) -> tuple[str, list[tuple[str, int]]]:
    if len(per_day) <= _MAX_DAY_ROWS:
        return "Arrivals per local day", [(d.strftime("%a %Y-%m-%d"), n) for d, n in per_day]
    weeks: dict[date, int] = {}
    for day, count in per_day:
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, 0) + count
    return "Arrivals per local week", [(f"week of {d.isoformat()}", n) for d, n in weeks.items()]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"


def render_summary(console: Console, summary: PlanSummary, tier: int) -> None:
    """Print the summary: window, histograms, activities with budgets, and the load per tier."""
    spec = summary.model.spec
    console.print(
        f"[bold]{spec.name}[/]: {spec.total_records:,} records, "
        f"scenario [bold]{spec.scenario_name}[/], distribution [bold]{spec.method.value}[/], "
        f"timezone {spec.timezone}, seed {spec.seed}"
    )
    start, end = from_epoch_ms(spec.start_ms), from_epoch_ms(spec.end_ms)
    console.print(
        f"window {start.isoformat()} → {end.isoformat()}; "
        f"first arrival {from_epoch_ms(summary.first_ms).isoformat()}, "
        f"last {from_epoch_ms(summary.last_ms).isoformat()}"
    )
    title, rows = _days(summary.arrivals.per_day)
    console.print()
    console.print(_histogram(title, rows))
    console.print(
        _histogram(
            "Arrivals per local hour",
            [(f"{h:02d}:00", n) for h, n in enumerate(summary.arrivals.per_hour)],
        )
    )
    console.print(
        _histogram(
            "Arrivals per weekday", list(zip(_WEEKDAYS, summary.arrivals.per_weekday, strict=True))
        )
    )
    how = (
        "every record planned"
        if summary.exact
        else f"estimated from {summary.planned_records:,} sampled records (use --exact for all)"
    )
    activities = Table(title=f"Activities ({how})", title_justify="left")
    for column in ("type", "planned", "past window", "over budget", "budget", "budget used"):
        activities.add_column(column, justify="left" if column == "type" else "right")
    for totals in summary.activities:
        used = f"{totals.planned / totals.budget:.0%}" if totals.budget else "—"
        activities.add_row(
            totals.kind.value,
            f"{totals.planned:,}",
            f"{totals.past_window:,}",
            f"{totals.over_budget:,}",
            "unlimited" if totals.budget is None else f"{totals.budget:,}",
            used,
        )
    console.print(activities)
    mode = "backfill (everything due now)" if spec.backfill else f"time scale {spec.time_scale:g}×"
    load = Table(title=f"HubSpot load, {mode}, batches of up to 100", title_justify="left")
    for column in ("tier (req/10 s)", "requests", "peak req/10 s", "wall-clock", "fits"):
        load.add_column(column, justify="right")
    for estimate in summary.loads:
        style = "bold" if estimate.tier == tier else None
        load.add_row(
            f"{estimate.tier}",
            f"{estimate.total_requests:,}",
            f"{estimate.peak_requests_per_10s:,.1f}",
            _duration(estimate.duration_s),
            "no, runs late" if estimate.over_tier else "yes",
            style=style,
        )
    console.print(load)
