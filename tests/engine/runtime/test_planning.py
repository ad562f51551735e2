"""Planning a record's activities is exactly-once, even across a crash mid-way; what waits for
another of its objects is parked until that object's job releases it."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from core.clock import ManualClock
from core.keys import DEFAULT_KEY_PREFIX
from core.lua import Scripts, lua_folder
from engine.model import ActivityType
from engine.runtime import metrics
from engine.runtime.jobs import activity_job
from engine.runtime.planning import ADMITTED, Planner, _candidates
from engine.runtime.pressure import THINNABLE, Pressure
from engine.runtime.registry import Registry
from engine.runtime.release import PARENT_FALLBACK_MS, parent, release
from schema.store import Store
from streams import Priority, Queue, QueueConfig
from streams.job import decode_job
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


async def test_children_are_parked_until_their_parent_releases_them(
    runtime_store: Store, redis: Redis
) -> None:
    """A backfilled record's deal, deal-stage steps and later lifecycle steps wait in the
    delayed set, not in the ready stream, while its company, first lifecycle step and
    engagements are ready at once; the company's release brings its deal forward (only), and
    releasing it again changes nothing."""
    row = await create_simulation(runtime_store, total_records=500, end_time="2026-03-05T00:00:00Z")
    known = await Registry(
        runtime_store, cast(Any, None), cast(Any, None), key_prefix=DEFAULT_KEY_PREFIX
    ).get(row.id)
    assert known is not None

    def count(index: int, kind: ActivityType) -> int:
        return sum(a.kind is kind for a in known.model.plan(index).activities)

    index = next(
        i
        for i in range(500)
        if count(i, ActivityType.COMPANY)
        and count(i, ActivityType.DEAL_STAGE_UPDATE) >= 2
        and count(i, ActivityType.LIFECYCLE_UPDATE) >= 2
    )
    activities = known.model.plan(index).activities
    clock = ManualClock()
    async with Queue(redis, QueueConfig(), clock=clock) as queue:
        scripts = Scripts(redis, lua_folder("engine.runtime"))
        await scripts.load()
        planner = Planner(
            redis,
            scripts,
            queue,
            pressure=lambda sim: Pressure(),
            clock=clock,
            thinning_events_max=10,
        )
        assert await planner.plan(known, [index]) == len(activities)
        delayed = queue.keys.delayed(queue.keys.shard_of(str(row.id)))
        parked = {activity_job(row.id, index, a).id: a for a in activities if parent(a)}
        members = [bytes(m) for m in await redis.zrange(delayed, 0, -1)]  # type: ignore[arg-type]
        assert {decode_job(member[1:]).id for member in members} == set(parked)
        soonest = clock.now_ms() + PARENT_FALLBACK_MS
        assert not await redis.zcount(delayed, "-inf", f"({soonest}")
        ready = await redis.xlen(queue.keys.ready(0, Priority.SECONDARY))
        assert ready == len(activities) - len(parked)
        company = next(a for a in activities if a.kind is ActivityType.COMPANY)
        company_job = activity_job(row.id, index, company)
        deals = sum(a.kind is ActivityType.DEAL for a in activities)
        assert await release(queue, known, [company_job]) == deals
        assert await release(queue, known, [company_job]) == 0
        assert (await queue.promote_due()).moved == deals
        assert await redis.zcard(delayed) == len(parked) - deals


async def test_a_released_child_of_a_timed_run_keeps_its_own_moment(
    runtime_store: Store, redis: Redis
) -> None:
    """In a run played at a time scale, a deal released by its company is due at its own
    moment, never earlier — and not later than that either, once the company is done."""
    row = await create_simulation(
        runtime_store, total_records=500, backfill=False, time_scale=7 * 24 * 3600 / 600
    )
    known = await Registry(
        runtime_store, cast(Any, None), cast(Any, None), key_prefix=DEFAULT_KEY_PREFIX
    ).get(row.id)
    assert known is not None
    index = next(
        i
        for i in range(500)
        if {ActivityType.COMPANY, ActivityType.DEAL}
        <= {a.kind for a in known.model.plan(i).activities}
    )
    activities = known.model.plan(index).activities
    clock = ManualClock(known.timing.anchor_ms)
    async with Queue(redis, QueueConfig(), clock=clock) as queue:
        scripts = Scripts(redis, lua_folder("engine.runtime"))
        await scripts.load()
        planner = Planner(
            redis,
            scripts,
            queue,
            pressure=lambda sim: Pressure(),
            clock=clock,
            thinning_events_max=10,
        )
        await planner.plan(known, [index])
        delayed = queue.keys.delayed(queue.keys.shard_of(str(row.id)))
        deal = next(a for a in activities if a.kind is ActivityType.DEAL)
        member = b"s" + activity_job(row.id, index, deal).encode()
        own = known.timing.wall_ms(deal.at_ms)
        assert clock.now_ms() < own < clock.now_ms() + PARENT_FALLBACK_MS  # parked past its time
        assert await redis.zscore(delayed, member) == max(own, clock.now_ms() + PARENT_FALLBACK_MS)
        company = next(a for a in activities if a.kind is ActivityType.COMPANY)
        await release(queue, known, [activity_job(row.id, index, company)])
        assert await redis.zscore(delayed, member) == own
