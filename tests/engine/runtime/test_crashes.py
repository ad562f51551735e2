"""Crashes mid-run: a daemon killed with SIGKILL, Redis killed and restarted with AOF on.
Either way the run completes with everything planned created exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from streams.deadletters import DeadLetterEntry
from tests.engine.runtime.harness import (
    create_simulation,
    daemon_env,
    expected_objects,
    runtime_settings,
    start_engine,
    stored_keys,
    wait_for_status,
    wait_until,
)
from tests.support.servers import RedisServer


async def assert_exactly_the_plan(
    sandbox: Sandbox, expected: dict[ObjectType, set[str]], redis_url: str, sim_id: int
) -> None:
    """Every planned object exists once, and the live counts say so too (each object counted
    once, however often its job ran)."""
    stored = stored_keys(sandbox)
    for object_type, keys in expected.items():
        assert set(stored[object_type]) == keys, object_type
        duplicated = {key: n for key, n in stored[object_type].items() if n > 1}
        assert not duplicated, (object_type, duplicated)
    assert sum(sandbox.stats().duplicates.values()) == 0
    client: Redis = Redis.from_url(redis_url)
    try:
        counts = await metrics.read(client, SimKeys(sim_id, DEFAULT_KEY_PREFIX))
    finally:
        await client.aclose()
    for object_type, keys in expected.items():
        assert counts.get(object_type.value, {}).get("created", 0) == len(keys), object_type


def answered_all(sandbox: Sandbox) -> bool:
    """Whether the sandbox has answered every request it received (none is in flight)."""
    state = sandbox.state
    return state.requests == sum(state.statuses.values())


async def start_daemon(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m engine` as a real process, as an operator would run it."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", env=env, stdout=asyncio.subprocess.DEVNULL
    )


@pytest.mark.slow
async def test_daemon_killed_mid_run(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """A daemon SIGKILLed mid-run, a second one started: the run completes, created equals
    planned, and nothing is created twice (uncertain creates are found, not re-sent)."""
    sandbox.reconfigure(tier=100, latency_ms=20)
    row = await create_simulation(runtime_store, total_records=1_500)
    settings = runtime_settings(sandbox, SIMCRM_VISIBILITY_MS=3_000, HUBSPOT_SEARCH_LAG_MS=1_000)
    env = daemon_env(settings, redis_url, database_file)
    first = await start_daemon(env)
    try:
        await wait_until(
            lambda: first.returncode is not None or len(sandbox.objects(ObjectType.NOTE)) > 300,
            20,
        )
        assert first.returncode is None, "the first daemon exited on its own"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        second = await start_daemon(env)
        try:
            done = await wait_for_status(
                runtime_store, row.id, SimulationStatus.COMPLETED, 80, redis_url
            )
        finally:
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    await assert_exactly_the_plan(sandbox, expected_objects(done), redis_url, row.id)


@pytest.mark.slow
async def test_redis_killed_and_restarted_with_aof(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    """Redis (AOF on) is SIGKILLed mid-run and restarted: the engine rides it out and the run
    completes with created equal to planned, no duplicates and no dead letters.

    Every job gets a single attempt and the sandbox answers slowly, so batches are in flight
    when Redis dies: a batch whose objects were created but not yet recorded must come back
    without spending its attempt (Redis's outage is not the job's failure), or it would be
    dead-lettered with its objects already in the CRM."""
    server = redis_server_factory(appendonly=True)
    sandbox.reconfigure(tier=100, latency_ms=300)
    row = await create_simulation(runtime_store, total_records=1_000)
    settings = runtime_settings(
        sandbox,
        SIMCRM_VISIBILITY_MS=3_000,
        HUBSPOT_SEARCH_LAG_MS=1_000,
        ATTEMPTS_SECONDARY=1,
        CONTACT_ATTEMPTS=1,
        COMPANY_ATTEMPTS=1,
        DEAL_ATTEMPTS=1,
    )
    running = await start_engine(settings, server.url, database_file)
    try:
        await wait_until(lambda: len(sandbox.objects(ObjectType.NOTE)) > 200, 60)
        server.stop(kill=True)
        # Redis stays away until the sandbox has answered every request sent before the kill:
        # those batches' results then meet a Redis that is gone.
        await wait_until(lambda: answered_all(sandbox), 10)
        server.start()
        done = await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 150)
        dead: list[DeadLetterEntry] | None = None
        for _ in range(3):  # a pooled connection from before the restart may fail once
            with contextlib.suppress(RedisConnectionError):
                dead = await running.engine.queue.dead_letters.entries(str(row.id), limit=1_000)
                break
    finally:
        await running.stop()
    assert dead is not None, "the dead letters could not be read"
    assert [(entry.job.id, entry.category, entry.error) for entry in dead] == []
    await assert_exactly_the_plan(sandbox, expected_objects(done), server.url, row.id)
