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
from sqlalchemy.engine import make_url

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
from tests.faults.proxy import Proxy
from tests.faults.stack import Stack
from tests.support.servers import RedisServer

MID_RUN_NOTES = 40  # the fault strikes once this many notes exist: the run is well under way


@pytest.fixture
async def stack(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    """The deployment for ``case``: its own redis-server (AOF on), sandbox and database."""
    proxy = None
    database_url = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    if case.database == "mariadb":
        url = make_url(request.getfixturevalue("mysql_server").new_database())
        proxy = await Proxy(url.host or "127.0.0.1", url.port or 3306).start()
        database_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    redis = RedisServer(appendonly=True)
    redis.start()
    try:
        config = SandboxConfig(tier=250, daily_limit=0, search_lag_ms=200)
        async with Sandbox(config) as sandbox:
            deployment = Stack(tmp_path, sandbox, redis, database_url, proxy=proxy)
            try:
                yield deployment
            finally:
                await deployment.close()
    finally:
        redis.close()
        if proxy is not None:
            await proxy.cut()


def marks(case: Case) -> list[pytest.MarkDecorator]:
    return [pytest.mark.slow] if case.slow else []


def params() -> list[object]:
    return [pytest.param(case, id=case.name, marks=marks(case)) for case in CASES]


@pytest.mark.parametrize("case", params())
async def test_fault(case: Case, stack: Stack) -> None:
    stack.settings.update(case.settings)
    await stack.open()
    stack.sandbox.reconfigure(**case.sandbox)
    sim_id = await start_run(stack, case.records)
    await wait_until(lambda: len(stack.sandbox.objects(ObjectType.NOTE)) >= MID_RUN_NOTES, 60)

    await case.inject(stack, sim_id)

    assert await wait_for_end(stack, sim_id) == "completed"
    survivors = [worker for worker in stack.workers if not worker.exit_codes]
    assert all(worker.running for worker in survivors), [w.text()[-2_000:] for w in survivors]
    redis: Redis = Redis.from_url(stack.redis.url)
    try:
        async with Store.open(stack.database_url) as store:
            row = await store.simulations.get(sim_id)
            await assert_exactly_once(stack, row, redis)
            if not case.thinning_allowed:
                live = await metrics.read(redis, SimKeys(sim_id, DEFAULT_KEY_PREFIX))
                assert not any(counts.get("thinned") for counts in live.values()), live
            await scrape_metrics(stack)
            stopped = await stack.close()
            assert set(stopped.values()) == {0}, stopped  # every process stops gracefully
            assert_no_secret(stack)
            await assert_counters_match_crm(stack, store, sim_id)
            await assert_nothing_left_forever(redis, store, sim_id)
    finally:
        await redis.aclose()
