"""The fault matrix: one small run per fault against real servers — the sandbox over HTTP, a
private redis-server with AOF, SQLite, `simcrm serve` and `python -m engine` as processes.

For each fault: what the API answers while it lasts (see :mod:`tests.faults.faults`), that the
worker survives it (or, stopped on purpose, exits as it should and the next one carries on), and
the run's end state — completed, every object in the CRM once, the database's counters equal to
the CRM's counts, nothing of the run left in Redis without an expiry — and that none of the run's
secrets appears in any log line, command output, HTTP answer or metric."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from sandbox import Sandbox, SandboxConfig
from schema.store import Store
from tests.engine.runtime.harness import wait_until
from tests.faults.endstate import (
    assert_counters_match_crm,
    assert_exactly_once,
    assert_no_secret,
    assert_nothing_left_forever,
    scrape_metrics,
    start_run,
    wait_for_end,
)
from tests.faults.faults import CASES, Case
from tests.faults.stack import Stack
from tests.support.servers import RedisServer

MID_RUN_NOTES = 40  # the fault strikes once this many notes exist: the run is well under way


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    redis = RedisServer(appendonly=True)
    redis.start()
    try:
        config = SandboxConfig(tier=250, daily_limit=0, search_lag_ms=200)
        async with Sandbox(config) as sandbox:
            deployment = Stack(tmp_path, sandbox, redis, f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
            try:
                yield deployment
            finally:
                await deployment.close()
    finally:
        redis.close()


def params() -> list[object]:
    return [
        pytest.param(case, id=case.name, marks=[pytest.mark.slow] if case.slow else [])
        for case in CASES
    ]


@pytest.mark.parametrize("case", params())
async def test_fault(case: Case, stack: Stack) -> None:
    import time as _t; T0=_t.monotonic(); P=lambda m: print(f"{_t.monotonic()-T0:6.2f} {m}")
    stack.settings.update(case.settings)
    await stack.open()
    P("open"); stack.sandbox.reconfigure(**case.sandbox)
    sim_id = await start_run(stack, case.records)
    await wait_until(lambda: len(stack.sandbox.objects(ObjectType.NOTE)) >= MID_RUN_NOTES, 60)

    P("mid"); await case.inject(stack, sim_id); P("injected")

    assert await wait_for_end(stack, sim_id) == "completed"
    P("ended"); assert all(worker.running for worker in stack.workers if not worker.exit_codes), [
        worker.text()[-2_000:] for worker in stack.workers
    ]
    redis: Redis = Redis.from_url(stack.redis.url)
    try:
        async with Store.open(stack.database_url) as store:
            row = await store.simulations.get(sim_id)
            await assert_exactly_once(stack, row, redis)
            await assert_counters_match_crm(stack, store, sim_id)
            P("checked"); await assert_nothing_left_forever(redis, store, sim_id); P("swept")
        if not case.thinning_allowed:
            live = await metrics.read(redis, SimKeys(sim_id, DEFAULT_KEY_PREFIX))
            assert not any(counts.get("thinned") for counts in live.values()), live
    finally:
        await redis.aclose()
    await scrape_metrics(stack)
    P("metrics"); stopped = await stack.close(); P("closed")
    assert set(stopped.values()) == {0}, stopped  # a graceful stop at the end, for all
    assert_no_secret(stack)
