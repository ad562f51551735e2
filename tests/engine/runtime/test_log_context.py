"""Every line logged while a job is worked on names its simulation, its job(s), its type and its
shard, bound once with structlog's contextvars rather than passed by hand."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from engine.crm import ObjectType
from sandbox import Sandbox
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    start_engine,
    wait_until,
)

ONE_ATTEMPT = {
    "CONTACT_ATTEMPTS": 1,
    "COMPANY_ATTEMPTS": 1,
    "DEAL_ATTEMPTS": 1,
    "ATTEMPTS_SECONDARY": 1,
}


def names_job(entry: MutableMapping[str, Any]) -> bool:
    return "job_id" in entry or "job_ids" in entry


async def test_a_jobs_log_lines_carry_its_simulation_and_id(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """With the CRM refusing notes (a missing scope) and one attempt per job, the dead-lettered
    jobs' lines and the refused requests' lines each carry sim_id, the job's id (job_id, or
    job_ids for a batch), job_type and shard; no line naming a job lacks its simulation."""
    sandbox.reconfigure(denied_types=(ObjectType.NOTE,))
    row = await create_simulation(runtime_store, total_records=60)
    settings = runtime_settings(sandbox, **ONE_ATTEMPT)
    with capture_logs(processors=[merge_contextvars]) as logs:
        running = await start_engine(settings, redis_url, database_file)
        try:
            await wait_until(
                lambda: (
                    sum(e["event"] == "job_dead_lettered" for e in logs) >= 3
                    and any(e["event"] == "crm_request_refused" for e in logs)
                ),
                60,
            )
        finally:
            await running.stop()

    dead = [entry for entry in logs if entry["event"] == "job_dead_lettered"]
    for entry in dead:
        assert entry["sim_id"] == row.id, entry
        assert entry["job_id"].startswith(f"{row.id}:"), entry
        assert entry["job_id"].split(":")[1] == entry["job_type"], entry
        assert entry["shard"] == 0, entry
    refused = [entry for entry in logs if entry["event"] == "crm_request_refused"]
    for entry in refused:
        assert entry["sim_id"] == row.id, entry
        assert names_job(entry) and "job_type" in entry and "shard" in entry, entry
        ids = entry.get("job_ids") or [entry["job_id"]]
        assert all(job_id.startswith(f"{row.id}:") for job_id in ids), entry
    about_jobs = [entry for entry in logs if names_job(entry)]
    assert about_jobs
    assert all(entry.get("sim_id") == row.id for entry in about_jobs)
