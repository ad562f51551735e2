"""``simcrm sim watch``: live progress bars of one simulation, until it ends.

One bar per object type (created of planned, from the plan endpoint) and one for all the work
(jobs settled plus activities thinned, of everything planned), refreshed every ``interval_s`` from
the metrics endpoint. Returns 0 when the simulation completes, 1 when it is cancelled or fails.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from cli.api_client import ApiClient

FINAL = {"completed", "cancelled", "failed"}


def done_of(counts: dict[str, int]) -> int:
    """Objects of one type that are settled for good: created, updated, dead or thinned."""
    return sum(counts.get(name, 0) for name in ("created", "updated", "dead", "thinned"))


def overall(metrics: dict[str, Any], planned_total: int, status: str) -> float:
    """The fraction of all planned work done (1.0 exactly once completed, else below 1)."""
    if status == "completed":
        return 1.0
    totals = metrics["totals"]
    if planned_total <= 0:
        return 0.0
    done = int(totals["settled"]) + int(totals["thinned"])
    return min(0.999, done / planned_total)


async def watch(client: ApiClient, sim_id: int, *, interval_s: float, as_json: bool) -> int:
    sim = await client.call("GET", f"/api/simulations/{sim_id}")
    plan = await client.call("GET", f"/api/simulations/{sim_id}/plan")
    planned: dict[str, int] = plan["planned"]
    planned_total = sum(planned.values())
    console = Console()
    with Progress(
        TextColumn("{task.description:>18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.percentage:>5.1f} %"),
        console=console,
        disable=as_json,
    ) as progress:
        whole = progress.add_task("all work", total=1000)
        bars: dict[str, TaskID] = {
            job_type: progress.add_task(job_type.replace("_", " "), total=max(count, 1))
            for job_type, count in planned.items()
            if count
        }
        while True:
            metrics = await client.call("GET", f"/api/simulations/{sim_id}/metrics")
            status = str(metrics["status"])
            fraction = overall(metrics, planned_total, status)
            progress.update(whole, completed=round(fraction * 1000), description=f"all ({status})")
            for job_type, task in bars.items():
                done = done_of(metrics["counts"].get(job_type, {}))
                progress.update(task, completed=min(done, planned[job_type]))
            if as_json:
                line = {"status": status, "progress": round(fraction, 4), **metrics["totals"]}
                print(orjson.dumps(line).decode(), flush=True)
            if status in FINAL:
                break
            await asyncio.sleep(interval_s)
    sim = await client.call("GET", f"/api/simulations/{sim_id}")
    if not as_json:
        console.print(f"Simulation {sim_id} is {sim['status']}.")
    return 0 if sim["status"] == "completed" else 1
