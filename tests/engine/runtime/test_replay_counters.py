"""Progress counters stay true around a replay, a 429 storm and a shutdown: ``replayed`` is kept,
``dead`` goes down as dead letters are replayed, ``settled`` never exceeds ``scheduled``, a
completed simulation runs again while its replayed jobs run, and neither a 429 nor a job handed
back at shutdown counts as ``failed``."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.runtime.replay import replay_dead_letters
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    simulations,
    start_engine,
    stored_keys,
    wait_for_status,
    wait_until,
)
from tests.engine.runtime.test_faults import TOKEN


def overall(counts: metrics.Counts, metric: metrics.Metric) -> int:
    return metrics.total(counts, metric)


async def test_replay_counts_and_reopens(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """Notes refused by the CRM (a missing scope) die; once the scope is granted, replaying them
    counts them ``replayed``, takes them off ``dead``, keeps ``settled`` within ``scheduled``,
    puts the completed simulation back to running, and completes it again with every note
    created once."""
    sandbox.reconfigure(denied_types=(ObjectType.NOTE,))
    row = await create_simulation(runtime_store, total_records=40)
    settings = runtime_settings(sandbox)
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    running = await start_engine(settings, redis_url, database_file)
    try:
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
        before = metrics.presented(await metrics.read(redis, keys))
        dead = before["note"]["dead"]
        assert dead > 0 and before["all"]["settled"] == before["all"]["scheduled"]

        sandbox.reconfigure(denied_types=())
        queue = Queue(redis, settings.queue_config())
        service = simulations(runtime_store)
        completed = await runtime_store.simulations.get(row.id)
        dry = await replay_dead_letters(
            redis, queue, service, keys, completed, dry_run=True, limit=dead
        )
        assert dry.selected_total == dead and not dry.jobs
        assert (await runtime_store.simulations.get(row.id)).status is SimulationStatus.COMPLETED

        replayed = 0
        while replayed < dead:  # a replay moves at most DLQ_REPLAY_LIMIT_CAP
            result = await replay_dead_letters(
                redis, queue, service, keys, completed, dry_run=False, limit=dead
            )
            assert result.replayed > 0
            replayed += result.replayed
        assert replayed == dead
        during = metrics.presented(await metrics.read(redis, keys))
        assert during["note"]["replayed"] == dead
        assert during["note"]["dead"] == 0
        assert during["all"]["settled"] <= during["all"]["scheduled"]
        reopened = await runtime_store.simulations.get(row.id)
        assert reopened.status is SimulationStatus.RUNNING and reopened.finished_at is None

        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    after = metrics.presented(await metrics.read(redis, keys))
    assert after["note"]["dead"] == 0
    assert after["note"]["replayed"] == dead
    assert after["all"]["settled"] == after["all"]["scheduled"]
    notes = stored_keys(sandbox)[ObjectType.NOTE]
    assert len(notes) == before["note"]["scheduled"] and set(notes.values()) == {1}
    durable = metrics.presented(await runtime_store.counters.get(row.id))
    assert durable["note"]["dead"] == 0 and durable["note"]["replayed"] == dead


async def storm(url: str, stop: asyncio.Event) -> None:
    """Another integration on the same token, 40 requests a second until ``stop``: every
    request of the account meets a 429 meanwhile."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        while not stop.is_set():
            async with http.get(f"{url}/crm/v3/objects/contacts?limit=1") as response:
                await response.read()
            await asyncio.sleep(0.025)


async def test_a_429_is_not_a_failure(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """Another integration exhausts the account's burst limit until the run has met 429s: they
    are counted ``rate_limited``, and nothing is counted ``failed``. (The account's limit is
    lowered meanwhile, so the run meets 429s even when it is quick enough to be done before
    the other integration's requests fill the window.)"""
    sandbox.reconfigure(tier=10)
    stop = asyncio.Event()
    noise = asyncio.create_task(storm(sandbox.url, stop))
    await wait_until(lambda: bool(sandbox.stats().rate_limited), 30)
    row = await create_simulation(runtime_store, total_records=60)
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    settings = runtime_settings(sandbox, HUBSPOT_TIER=100, HUBSPOT_COOLDOWN_MS=1_000)
    running = await start_engine(settings, redis_url, database_file)

    async def met_429s() -> bool:
        return overall(await metrics.read(redis, keys), metrics.Metric.RATE_LIMITED) > 0

    try:
        await wait_until(met_429s, 60)
        stop.set()
        await noise
        sandbox.reconfigure(tier=100)
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 120, redis_url)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await running.stop()
    counts = await metrics.read(redis, keys)
    assert overall(counts, metrics.Metric.FAILED) == 0, counts


async def test_jobs_handed_back_at_shutdown_are_not_failures(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """A daemon stopped with no grace while its calls hang hands its jobs back: none is counted
    ``failed``, and the next daemon finishes the run."""
    sandbox.reconfigure(latency_ms=3_000)
    row = await create_simulation(runtime_store, total_records=30)
    settings = runtime_settings(sandbox, SIMCRM_GRACE_MS=0, SIMCRM_VISIBILITY_MS=3_000)
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    first = await start_engine(settings, redis_url, database_file)
    try:
        await wait_until(lambda: sandbox.stats().requests > 0, 30)
    finally:
        await first.stop()
    stopped = await metrics.read(redis, keys)
    assert overall(stopped, metrics.Metric.FAILED) == 0, stopped
    sandbox.reconfigure(latency_ms=0)
    second = await start_engine(settings, redis_url, database_file)
    try:
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
    finally:
        await second.stop()
    assert overall(await metrics.read(redis, keys), metrics.Metric.FAILED) == 0
