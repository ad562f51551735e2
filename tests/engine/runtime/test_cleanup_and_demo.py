"""`simcrm cleanup` archives exactly one simulation's objects; `simcrm demo` runs end to end."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from engine.crm import ObjectType
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    daemon_env,
    runtime_settings,
    simulations,
    start_engine,
    wait_for_status,
)
from tests.support.servers import free_port

SIMCRM = str(Path(sys.executable).parent / "simcrm")


async def simcrm(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        SIMCRM,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, out.decode()


def live_objects(sandbox: Sandbox, sim_id: int) -> int:
    return sum(
        1
        for t in ObjectType
        for o in sandbox.objects(t)
        if not o.archived and o.properties.get("simcrm_simulation_id") == str(sim_id)
    )


async def test_cleanup_archives_only_its_simulation(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """After two simulations ran, cleaning up the first archives all of its objects and none of
    the second's; running it again finds nothing left."""
    first = await create_simulation(runtime_store, total_records=120)
    second = await create_simulation(runtime_store, total_records=80)
    settings = runtime_settings(sandbox)
    running = await start_engine(settings, redis_url, database_file)
    try:
        for row in (first, second):
            await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60)
    finally:
        await running.stop()
    before_second = live_objects(sandbox, second.id)
    assert live_objects(sandbox, first.id) > 120
    env = daemon_env(settings, redis_url, database_file)
    code, out = await simcrm("cleanup", str(first.id), "--yes", env=env)
    assert code == 0, out
    assert live_objects(sandbox, first.id) == 0
    assert live_objects(sandbox, second.id) == before_second
    code, out = await simcrm("cleanup", str(first.id), "--yes", env=env)
    assert code == 0
    assert "no recorded objects left" in out


async def test_cleanup_refuses_a_simulation_that_has_not_ended(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """A running or paused simulation is not cleaned up (exit 1, nothing archived)."""
    row = await create_simulation(runtime_store, total_records=10)
    env = daemon_env(runtime_settings(sandbox), redis_url, database_file)
    code, out = await simcrm("cleanup", str(row.id), "--yes", env=env)
    assert code == 1
    assert "is running: cancel it or let it finish first" in out
    await simulations(runtime_store).pause(row.id)
    code, out = await simcrm("cleanup", str(row.id), "--yes", env=env)
    assert code == 1
    assert "is paused" in out


async def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    """`simcrm demo` on a machine where no Redis answers, as on a newcomer's (it starts its own,
    on a unix socket), completes a small simulation and reports zero duplicates and nothing
    missing, counted by key in the CRM as `simcrm sim verify` counts them (exit 0)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
    env.update({"REDIS_PORT": str(free_port()), "COLUMNS": "120"})
    code, out = await simcrm("demo", "--records", "150", "--tier", "250", "--port", "0", env=env)
    assert code == 0, out
    assert "Simulation completed" in out
    assert "duplicates         0 (verified in the CRM by key)" in out
    assert "missing            0 (verified in the CRM by key)" in out
    assert "dashboard          http://127.0.0.1:" in out
