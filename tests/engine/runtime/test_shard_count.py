"""A daemon refuses to start on a shard count other than the queue's, naming both and the fix;
`simcrm queue reshard` refuses while a daemon runs and moves the queue once it has stopped."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    daemon_env,
    runtime_settings,
    start_engine,
    wait_for_status,
)

BIN = Path(sys.executable).parent


async def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_a_daemon_refuses_a_mismatched_count(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """`python -m engine --shards 2` against a queue stored with 1 shard exits 2 with a message
    naming both counts and how to fix it, and leaves nothing registered."""
    await redis.set(f"{DEFAULT_KEY_PREFIX}:queue:shards", 1)
    env = daemon_env(runtime_settings(sandbox), redis_url, database_file)
    code, out = await run(env, str(BIN / "python"), "-m", "engine", "--shards", "2")
    assert code == 2, out
    assert "has 1 shard(s)" in out and "started with 2" in out, out
    assert "SIMCRM_QUEUE_SHARDS=1" in out and "simcrm queue reshard 2" in out, out
    assert await redis.zcard(f"{DEFAULT_KEY_PREFIX}:queue:members") == 0


async def test_reshard_waits_for_the_daemon_then_the_run_completes(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """With a daemon running a simulation, `simcrm queue reshard 3` refuses and names it; once
    the daemon is stopped mid-run, the reshard moves the queued work and a daemon on 3 shards
    completes the simulation with every contact created once."""
    sandbox.reconfigure(latency_ms=400)
    row = await create_simulation(runtime_store, total_records=150)
    settings = runtime_settings(sandbox)
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_file}
    env["LOG_LEVEL"] = "warning"
    first = await start_engine(settings, redis_url, database_file)
    try:
        await asyncio.sleep(0.5)
        code, out = await run(env, str(BIN / "simcrm"), "queue", "reshard", "3")
        assert code == 1 and "daemon:" in out and "Stop every daemon" in out, out
    finally:
        await first.stop()
    assert (await runtime_store.simulations.get(row.id)).status is SimulationStatus.RUNNING
    code, out = await run(env, str(BIN / "simcrm"), "queue", "reshard", "3")
    assert code == 0 and "from 1 to 3 shard(s)" in out, out
    assert " 0 ready, 0 delayed" not in out, out  # simulation 1 lives on shard 1 of 3
    code, out = await run(env, str(BIN / "simcrm"), "queue", "shards")
    assert "shards: 3" in out, out
    sandbox.reconfigure(latency_ms=0)
    second = await start_engine(settings.replace(SIMCRM_QUEUE_SHARDS=3), redis_url, database_file)
    try:
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
    finally:
        await second.stop()
    contacts = sandbox.objects("contacts")
    assert len(contacts) == 150
    assert sandbox.stats().duplicates.get("contacts", 0) == 0
