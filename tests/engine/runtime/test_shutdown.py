"""A graceful stop of a daemon while HubSpot is slow: the requests our own shutdown cuts are not
HubSpot's failures, so they neither feed the circuit breaker nor count as failed attempts."""

from __future__ import annotations

import asyncio
import signal

import pytest
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.runtime import thinning
from engine.runtime.keys import SimKeys
from limits import Limiter
from sandbox import Sandbox
from schema.store import Store
from streams import Queue
from tests.engine.runtime.harness import (
    create_simulation,
    daemon_env,
    runtime_settings,
    wait_until,
)
from tests.engine.runtime.test_crashes import start_daemon


def unanswered(sandbox: Sandbox) -> int:
    """Requests the sandbox has received and not answered yet."""
    state = sandbox.state
    return state.requests - sum(state.statuses.values())


@pytest.mark.slow
async def test_sigterm_with_slow_hubspot_keeps_the_breaker_closed(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """SIGTERM while HubSpot takes 14 s per answer: the batch requests cut when the grace period
    ends are handed back, not reported as server failures — the account's breaker stays closed
    with no failure logged, nothing is thinned for "breaker", and no job is dead-lettered."""
    sandbox.reconfigure(tier=100)
    row = await create_simulation(runtime_store, total_records=600)
    settings = runtime_settings(sandbox, HUBSPOT_BREAKER_FAILURES=2)
    env = daemon_env(settings, redis_url, database_file)
    env["HUBSPOT_BREAKER_FAILURES"] = "2"
    daemon = await start_daemon(env)
    try:
        await wait_until(lambda: len(sandbox.objects(ObjectType.CONTACT)) >= 100, 30)
        sandbox.reconfigure(latency_ms=14_000)
        await wait_until(lambda: unanswered(sandbox) >= 4, 30)
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()
    state = await Limiter(redis, settings.limits.config()).state(str(sandbox.config.portal_id))
    assert (state.breaker, state.recent_failures, state.breaker_trips) == ("closed", 0, 0)
    events = await thinning.read(redis, SimKeys(row.id, DEFAULT_KEY_PREFIX), 100)
    assert [event for event in events if event["reason"] == "breaker"] == []
    dead = await Queue(redis, settings.queue_config()).dead_letters.entries(str(row.id), limit=10)
    assert dead == []
