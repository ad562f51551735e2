"""A whole SimCRM on loopback for runtime tests: the sandbox over HTTP, a SQLite store, the test
Redis, and engines running in-process (or as real daemon processes).

An in-process engine may run on a :class:`~core.clock.ManualClock`: :func:`drive` then steps its
clock a tick at a time and lets the engine finish everything due before the next step, so a test
decides when time passes instead of sleeping while it does."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from pydantic import SecretStr

from core.clock import Clock, ManualClock
from engine.crm import ObjectType
from engine.model import WRITES, ActivityType, SimulationModel, SimulationSpec
from engine.runtime.engine import TICK_MS, Engine
from engine.settings import Settings
from engine.simulations import HubSpotTokens, Simulations
from sandbox import Sandbox
from schema.simulations import Simulation, SimulationStatus
from schema.store import Store

SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
Condition = Callable[[], bool | Awaitable[bool]]


def runtime_settings(sandbox: Sandbox, **changes: object) -> Settings:
    """Settings for an engine talking to ``sandbox`` at its tier, with quick pacing; ``changes``
    are more variables (``SIMCRM_VISIBILITY_MS=3_000``)."""
    values: dict[str, object] = {
        "SIMCRM_SANDBOX_URL": sandbox.url,
        "HUBSPOT_TIER": sandbox.config.tier,
        "HUBSPOT_DAILY_LIMIT": 0,
        "SIMCRM_FLUSH_INTERVAL_MS": 500,
        "TOKEN_ENC_SECRET": SecretStr(SECRET),
    }
    return Settings.from_env(**{**values, **changes})


def simulations(store: Store) -> Simulations:
    """The simulations service over ``store``, as a deployment without HUBSPOT_API_TOKEN has it."""
    return Simulations(store, HubSpotTokens(store))


async def create_simulation(store: Store, **fields: Any) -> Simulation:
    """A running simulation owned by a fresh user, created and started through the simulations
    service (validated, token checked); defaults: a 200-record b2b backfill."""
    users = await store.users.list()
    owner = users[0] if users else (await store.users.create("runner@example.com"))[0]
    body: dict[str, Any] = {
        "name": "runtime test",
        "scenario": "b2b_saas",
        "distribution_method": "uniform",
        "start_time": "2026-01-05T00:00:00Z",
        "end_time": "2026-01-12T00:00:00Z",
        "total_records": 200,
        "backfill": True,
        "target": "sandbox",
    }
    body.update(fields)
    service = simulations(store)
    row = await service.create(owner.id, body)
    return await service.start(row.id)


async def wait_for_status(
    store: Store,
    sim_id: int,
    status: SimulationStatus,
    timeout_s: float,
    redis_url: str | None = None,
) -> Simulation:
    """Wait for the status; on timeout, fail with what the simulation's Redis state says."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = await store.simulations.get(sim_id)
        if row.status is status:
            return row
        if time.monotonic() > deadline:
            state = await describe(redis_url, sim_id) if redis_url else ""
            raise AssertionError(f"simulation {sim_id} is {row.status}, not {status}: {state}")
        await asyncio.sleep(0.1)


async def describe(redis_url: str, sim_id: int) -> str:
    """The simulation's queue and runtime state, for a failing test's message."""
    from redis.asyncio import Redis

    from core.keys import DEFAULT_KEY_PREFIX
    from engine.runtime.keys import SimKeys
    from streams import Queue, QueueConfig

    client: Redis = Redis.from_url(redis_url)
    try:
        keys = SimKeys(sim_id, DEFAULT_KEY_PREFIX)
        queue = Queue(client, QueueConfig())
        live = await queue.live_count(str(sim_id))
        stats = await queue.stats()
        plans = await client.hlen(keys.plans)
        segments = await client.hgetall(keys.segments)
        metrics = await client.hgetall(keys.metrics)
        uncertain = await client.hlen(keys.uncertain)
        dead = await queue.dead_letters.scope(str(sim_id))
        waiting = []
        for member in await client.zrange(queue.keys.delayed(0), 0, 4):
            job_id = orjson.loads(cast(bytes, member)[1:])[0]
            index = job_id.split(":")[2]
            parents = [f"{sim_id}:contact:{index}", f"{sim_id}:company:{index}:0"]
            recorded = await client.hmget(keys.ids, parents)
            waiting.append((job_id, dict(zip(parents, recorded, strict=True))))
        return (
            f"live={live} plans={plans} uncertain={uncertain} dead={dict(dead.counts)} "
            f"waiting={waiting} stats={stats} metrics={metrics} segments={segments}"
        )
    finally:
        await client.aclose()


async def holds(condition: Condition) -> bool:
    """Evaluate a condition that may be a plain or an async callable."""
    result = condition()
    return await result if inspect.isawaitable(result) else result


async def wait_until(condition: Condition, timeout_s: float) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await holds(condition):
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def caught_up(engine: Engine) -> bool:
    """Whether the engine has done everything due by its clock: its control loop is asleep, no
    job waits in a ready stream or runs, and none in the delayed sets is due."""
    clock = engine.clock
    if isinstance(clock, ManualClock) and clock.sleepers == 0:
        return False  # the control loop is in the middle of a pass
    now = clock.now_ms()
    for shard in await engine.queue.stats():
        if any(s.waiting or s.pending for s in shard.streams.values()):
            return False
        if await engine.redis.zcount(engine.queue.keys.delayed(shard.shard), "-inf", now):
            return False
    return True


async def drive(
    engine: Engine, until: Condition, *, step_ms: int = TICK_MS, timeout_s: float = 60
) -> None:
    """Step the engine's manual clock by ``step_ms`` at a time, each time waiting until the engine
    has caught up with everything due, until ``until`` holds (checked between steps); fail the
    test after ``timeout_s`` of real time."""
    clock = engine.clock
    assert isinstance(clock, ManualClock), "drive() steps an engine built on a ManualClock"
    deadline = time.monotonic() + timeout_s
    await wait_until(lambda: caught_up(engine), timeout_s)
    while not await holds(until):
        assert time.monotonic() < deadline, f"condition not reached by {clock}"
        clock.advance(step_ms)
        await wait_until(lambda: caught_up(engine), max(0.1, deadline - time.monotonic()))


def seen_status(engine: Engine, sim_id: int) -> SimulationStatus | None:
    """The simulation's status as the engine last read it from the store."""
    return next((k.status for k in engine.registry.known() if k.id == sim_id), None)


@dataclass
class RunningEngine:
    engine: Engine
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.engine.request_stop()
        await self.task


async def start_engine(
    settings: Settings, redis_url: str, database_url: str, *, clock: Clock | None = None
) -> RunningEngine:
    """An engine running in this process (on ``clock``, the system clock by default)."""
    engine = Engine(settings, redis_url=redis_url, database_url=database_url, clock=clock)
    await engine.__aenter__()

    async def run() -> None:
        try:
            await engine.run()
        finally:
            await engine.__aexit__(None, None, None)

    return RunningEngine(engine, asyncio.create_task(run()))


def expected_objects(
    row: Simulation, records: Iterable[int] | None = None
) -> dict[ObjectType, set[str]]:
    """Every object key the simulation should create, by type, straight from the model — for
    every record, or only for ``records`` (say, those whose contact was created)."""
    model = SimulationModel(SimulationSpec.from_row(row))
    expected: dict[ObjectType, set[str]] = {t: set() for t in ObjectType}
    for index in range(row.total_records) if records is None else sorted(records):
        expected[ObjectType.CONTACT].add(f"{row.id}:contact:{index}")
        for activity in model.plan(index).activities:
            write = WRITES[activity.kind]
            if write.operation == "create":
                key = f"{row.id}:{activity.kind.value}:{index}:{activity.ordinal}"
                expected[write.object_type].add(key)
    return expected


def stored_keys(sandbox: Sandbox) -> dict[ObjectType, Counter[str]]:
    """How many live objects carry each simcrm_key, by type."""
    return {
        t: Counter(o.properties.get("simcrm_key", "") for o in sandbox.objects(t) if not o.archived)
        for t in ObjectType
    }


def planned_times(row: Simulation) -> Mapping[str, int]:
    """Each engagement's planned simulated time, by object key."""
    model = SimulationModel(SimulationSpec.from_row(row))
    times: dict[str, int] = {}
    for index in range(row.total_records):
        for activity in model.plan(index).activities:
            if activity.kind in (ActivityType.NOTE, ActivityType.CALL, ActivityType.TASK):
                times[f"{row.id}:{activity.kind.value}:{index}:{activity.ordinal}"] = activity.at_ms
    return times


def window(days: int = 7, start: datetime | None = None) -> tuple[str, str]:
    begin = start or datetime(2026, 1, 5, tzinfo=UTC)
    return begin.isoformat(), (begin + timedelta(days=days)).isoformat()


def daemon_env(settings: Settings, redis_url: str, database_url: str) -> dict[str, str]:
    """The environment a `python -m engine` process needs to join a test's run."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
    env.update(
        {
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "SIMCRM_SANDBOX_URL": settings.runtime.sandbox_url,
            "HUBSPOT_TIER": str(settings.limits.tier),
            "HUBSPOT_DAILY_LIMIT": "0",
            "SIMCRM_VISIBILITY_MS": str(settings.queue.visibility_ms),
            "SIMCRM_GRACE_MS": "2000",
            "HUBSPOT_SEARCH_LAG_MS": str(settings.hubspot.search_lag_ms),
            "LOG_LEVEL": "warning",
            "LOG_FORMAT": "json",
        }
    )
    return env
