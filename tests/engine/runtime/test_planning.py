"""Planning a record's activities is exactly-once, even across a crash mid-way."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from core.clock import ManualClock
from core.keys import DEFAULT_KEY_PREFIX
from core.lua import Scripts, lua_folder
from engine.model import ActivityType
from engine.runtime import metrics
from engine.runtime.planning import ADMITTED, Planner, _candidates
from engine.runtime.pressure import THINNABLE, Pressure
from engine.runtime.registry import Registry
from schema.store import Store
from streams import Queue, QueueConfig
from tests.engine.runtime.harness import create_simulation


async def test_a_plan_resumed_after_a_crash_keeps_its_first_decisions(
    runtime_store: Store, redis: Redis
) -> None:
    """A worker died after planning a record (budgets spent, thinning decided) but before
    queueing its activities; when the record's contact runs again under different pressure,
    exactly the first decision's activities are queued, and nothing is counted twice."""
    row = await create_simulation(runtime_store, total_records=500)
    known = await Registry(
        runtime_store, cast(Any, None), cast(Any, None), key_prefix=DEFAULT_KEY_PREFIX
    ).get(row.id)
    assert known is not None
    index = next(
        i
        for i in range(500)
        if sum(a.kind in THINNABLE for a in known.model.plan(i).activities) >= 3
    )
    activities = known.model.plan(index).activities
    async with Queue(redis, QueueConfig()) as queue:
        scripts = Scripts(redis, lua_folder("engine.runtime"))
        await scripts.load()
        keys = known.keys
        first = _candidates(row.id, index, activities, 0.2)  # under heavy pressure
        assert any(arg.startswith("~") for arg in first)
        status, mask = await scripts.run(
            "plan", [keys.planned, keys.budget, keys.plans, keys.metrics], [index, *first]
        )
        assert int(status) == 0  # planned; the worker dies before queueing
        planner = Planner(
            redis,
            scripts,
            queue,
            pressure=lambda sim: Pressure(),  # no pressure any more
            clock=ManualClock(),
            thinning_events_max=10,
        )
        queued = await planner.plan(known, [index])
        assert queued == mask.decode().count(ADMITTED)
        assert await queue.live_count(str(row.id)) == queued
        assert await redis.hlen(keys.plans) == 0
        assert await planner.plan(known, [index]) == 0  # done: nothing planned twice
    counts = await metrics.read(redis, keys)
    thinned = sum(by.get("thinned", 0) for by in counts.values())
    scheduled = counts["all"]["scheduled"]
    assert thinned == mask.decode().count("t")
    assert scheduled == queued
    assert sum(a.kind is ActivityType.COMPANY for a in activities) <= 1
