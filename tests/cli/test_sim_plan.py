"""`simcrm sim plan` as a user runs it: a real process, no CRM, no Redis."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from engine.model.budgets import BudgetLedger
from engine.model.model import SimulationModel
from engine.model.spec import SimulationInput
from engine.simulations import HubSpotTokens, Simulations
from schema.store import Store
from schema.users import Role
from tests.cli.test_cli import simcrm

WINDOW = ("--start", "2025-03-03T00:00:00Z", "--end", "2025-03-31T00:00:00Z")


def test_a_million_record_plan_prints_its_summary(tmp_path: Path) -> None:
    """The issue's example runs: 1,000,000 b2b_saas records with a bell distribution; the
    daily histogram adds up to every record, activities are estimated from a sample, and the
    load is given for the four HubSpot tiers."""
    result = simcrm(
        "sim", "plan", "--records", "1000000", "--scenario", "b2b_saas", "--distribution",
        "bell", *WINDOW, "--timezone", "Europe/Berlin", "--time-scale", "60", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["records"] == 1_000_000
    assert sum(day["count"] for day in summary["arrivals_per_day"]) == 1_000_000
    assert sum(summary["arrivals_per_local_hour"]) == 1_000_000
    assert summary["activities_exact"] is False
    assert {row["type"] for row in summary["activities"]} >= {"note", "call", "deal"}
    assert [load["tier_requests_per_10s"] for load in summary["load"]] == [100, 110, 190, 250]
    assert all(load["peak_requests_per_10s"] > 0 for load in summary["load"])
    assert summary["first_arrival"] < summary["last_arrival"]


def test_the_text_summary_has_histograms_and_tiers(tmp_path: Path) -> None:
    """Without --json the summary is drawn as tables and bars."""
    result = simcrm("sim", "plan", "--records", "5000", "--backfill", *WINDOW, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for heading in ("Arrivals per local day", "Arrivals per local hour", "Activities", "HubSpot"):
        assert heading in result.stdout
    assert "█" in result.stdout


@pytest.mark.slow
def test_an_export_of_100000_records_round_trips(tmp_path: Path) -> None:
    """Every exported row's time equals the schedule's (records) or the plan's (activities),
    and over-budget items are marked as the budget in index order says."""
    overrides = '{"activities": {"ticket": {"budget": 100}}}'
    export = tmp_path / "plan.jsonl"
    result = simcrm(
        "sim", "plan", "--records", "100000", "--distribution", "poisson", *WINDOW, "--seed",
        "77", "--sim-id", "5", "--overrides", overrides, "--export", str(export), "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = SimulationModel(
        SimulationInput.parse(
            {
                "scenario": "b2b_saas",
                "distribution_method": "poisson",
                "total_records": 100_000,
                "start_time": WINDOW[1],
                "end_time": WINDOW[3],
                "seed": 77,
                "scenario_overrides": orjson.loads(overrides),
            }
        ).to_spec(5)
    )
    ledger = BudgetLedger(model.spec.scenario)
    records = 0
    expected: list[tuple[str, int, int | None, int, str]] = []
    with export.open("rb") as handle:
        rows = [orjson.loads(line) for line in handle]
    for index, at_ms in enumerate(model.schedule.times()):
        plan = model.planner.plan(index, at_ms)
        _, refused = ledger.admit(plan)
        expected.append(("contact", index, None, at_ms, "planned"))
        expected += [
            (a.kind.value, index, a.ordinal, a.at_ms, "over_budget" if a in refused else "planned")
            for a in plan.activities
        ]
    got = [(r["type"], r["index"], r.get("ordinal"), r["at_ms"], r["status"]) for r in rows]
    assert got == expected
    for row in rows[:1000]:
        moment = datetime.fromisoformat(row["at"].replace("Z", "+00:00"))
        assert int(moment.astimezone(UTC).timestamp() * 1000) == row["at_ms"]
        records += row["kind"] == "record"
    assert records > 0
    assert sum(r["status"] == "planned" and r["type"] == "ticket" for r in rows) == 100
    assert orjson.loads(result.stdout)["export"]["rows"] == len(rows)


def test_a_csv_export_has_a_header_and_every_record(tmp_path: Path) -> None:
    """--export plan.csv writes a CSV with the documented columns and one row per record."""
    export = tmp_path / "plan.csv"
    result = simcrm(
        "sim", "plan", "--records", "800", *WINDOW, "--export", str(export), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    with export.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["kind", "type", "index", "ordinal", "at", "at_ms", "status", "email"]
    assert sum(row["kind"] == "record" for row in rows) == 800
    assert len({row["email"] for row in rows if row["kind"] == "record"}) == 800


async def test_a_stored_simulation_is_planned_by_id(tmp_path: Path) -> None:
    """--id reads the definition from the database: the plan uses the stored seed (the id)."""
    assert simcrm("migrate", cwd=tmp_path).returncode == 0
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'simcrm.db'}") as store:
        owner, _ = await store.users.create("owner@example.com", Role.MEMBER)
        body = SimulationInput.parse(
            {
                "scenario": "support_heavy",
                "distribution_method": "front_loaded",
                "total_records": 3000,
                "start_time": "2025-06-02T00:00:00Z",
                "end_time": "2025-06-09T00:00:00Z",
            }
        )
        row = await Simulations(store, HubSpotTokens(store)).create(owner.id, body)
    result = simcrm("sim", "plan", "--id", str(row.id), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["simulation"]["id"] == row.id
    assert summary["simulation"]["seed"] == row.id
    first = SimulationModel(body.to_spec(row.id)).time_of(0)
    assert summary["first_arrival"] == datetime.fromtimestamp(first / 1000, UTC).isoformat()
    missing = simcrm("sim", "plan", "--id", "999", cwd=tmp_path)
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--records", "0"), "total_records"),
        (("--param", "sigma=2", "--distribution", "uniform"), "distribution_params.sigma"),
        (("--overrides", '{"activities": {"note": {"capp": 1}}}'), "activities.note.capp"),
        (("--export", "plan.xlsx"), "export"),
        (("--start", "2025-03-03", "--end", "2025-03-01"), "end_time"),
    ],
)
def test_bad_flags_are_named(tmp_path: Path, flags: tuple[str, ...], message: str) -> None:
    """A bad value ends the command with exit code 2 and a message naming the field."""
    result = simcrm("sim", "plan", *flags, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stdout
