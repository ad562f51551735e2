"""``python -m bench model [--json]``: the simulation model's throughput, in one process.

Measures, for a 10,000,000-record b2b_saas simulation over 30 days (bell × b2b calendar with US
holidays, America/New_York; and poisson for the schedule rows):

* record times per second, random access (``time_of`` on random indices);
* segment index-range look-ups per second (random one-hour spans);
* record contents per second (contact + company + deal properties of one record);
* activity plans per second (``plan`` of one record, and with every activity's properties);
* the plan summary of all 10,000,000 records, in seconds (the dry run's cost).

Targets on the 2-core reference machine: contents ≥ 50,000/s, summary < 10 s.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version

import orjson

from engine.model.model import SimulationModel
from engine.model.plan import summarize
from engine.model.spec import SimulationInput

RECORDS = 10_000_000


def _model(method: str) -> SimulationModel:
    return SimulationModel(
        SimulationInput.parse(
            {
                "scenario": "b2b_saas",
                "distribution_method": method,
                "calendar": {"preset": "b2b", "country": "US"},
                "timezone": "America/New_York",
                "start_time": "2025-03-01T00:00:00Z",
                "end_time": "2025-03-31T00:00:00Z",
                "total_records": RECORDS,
                "time_scale": 60,
            }
        ).to_spec(1)
    )


def _rate(count: int, work: Callable[[int], object], seconds: float) -> float:
    """Calls of ``work`` per second over at least ``seconds`` (after a short warm-up)."""
    for i in range(min(count, 1000)):
        work(i)
    done, started = 0, time.perf_counter()
    while True:
        for i in range(count):
            work(i)
        done += count
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def measure(seconds: float) -> list[dict[str, object]]:
    rng = random.Random(1)
    indices = [rng.randrange(RECORDS) for _ in range(20_000)]
    results: list[dict[str, object]] = []

    def row(name: str, value: float, unit: str, **extra: object) -> None:
        results.append({"measure": name, "value": round(value, 2), "unit": unit, **extra})

    for method in ("bell", "poisson"):
        sim = _model(method)
        start, span = sim.spec.start_ms, sim.spec.span_ms - 3_600_000
        spans = [start + rng.randrange(span) for _ in range(2_000)]
        row(
            "record_times_random_access",
            _rate(len(indices), lambda i, s=sim: s.time_of(indices[i]), seconds),
            "records/s",
            method=method,
        )
        row(
            "segment_index_ranges",
            _rate(
                len(spans),
                lambda i, s=sim, t=spans: s.index_range(t[i], t[i] + 3_600_000),
                seconds,
            ),
            "lookups/s",
            method=method,
        )
    sim = _model("bell")
    records = sim.records
    at = sim.spec.start_ms

    def contents(i: int) -> object:
        index = indices[i]
        return records.contact(index, at), records.company(index, at), records.deal(index, at)

    row("record_contents", _rate(len(indices), contents, seconds), "records/s",
        objects="contact+company+deal")  # fmt: skip
    row(
        "contact_contents",
        _rate(len(indices), lambda i: records.contact(indices[i], at), seconds),
        "records/s",
    )
    row(
        "activity_plans",
        _rate(len(indices), lambda i: sim.planner.plan(indices[i], at), seconds),
        "records/s",
    )

    def planned_with_properties(i: int) -> object:
        plan = sim.planner.plan(indices[i], at)
        return [sim.activity_properties(indices[i], a) for a in plan.activities]

    row(
        "activity_plans_with_properties",
        _rate(len(indices), planned_with_properties, seconds),
        "records/s",
    )
    for method in ("bell", "poisson"):
        started = time.perf_counter()
        summarize(_model(method), tiers=(100, 110, 190, 250))
        row("plan_summary_10m", time.perf_counter() - started, "s", method=method, target="< 10 s")
    return results


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench model", description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per measure")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per rate measure")
    args = parser.parse_args(argv)
    context = {
        "records": RECORDS,
        "python": platform.python_version(),
        "faker": version("faker"),
        "concurrency": 1,
    }
    for result in measure(args.seconds):
        result.update(context)
        if args.json:
            print(orjson.dumps(result).decode())
        else:
            extra = ", ".join(
                f"{k}={v}" for k, v in result.items() if k not in {"measure", "value", "unit"}
            )
            print(f"{result['measure']:<32} {result['value']:>14,.2f} {result['unit']:<10} {extra}")
    sys.stdout.flush()
    return 0
