"""A batch the rate limiter refuses for a moment is held in the daemon, not handed back: its jobs
join the next batch of their kind when the wait is over, so each is delivered once."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from engine.crm import ObjectType
from engine.telemetry import JobTelemetry, TelemetryKeys
from limits import Limiter, Reason
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    expected_objects,
    runtime_settings,
    start_engine,
    stored_keys,
    wait_for_status,
)


async def test_notes_refused_by_their_bucket_wait_in_the_daemon_and_go_once(
    sandbox: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Notes get a bucket of 100 per 3 s, so a backfill's notes are refused for the bucket
    again and again: every note job is still delivered to its handler exactly once (before,
    each refusal sent the whole batch back through the queue) and every note exists once."""
    refusals: list[str] = []
    real = Limiter.acquire

    async def counting(self: Limiter, portal: str, kind: str, *args: Any, **kw: Any) -> Any:
        decision = await real(self, portal, kind, *args, **kw)
        if not decision.allowed and kind == "note":
            refusals.append(str(decision.reason))
        return decision

    monkeypatch.setattr(Limiter, "acquire", counting)
    row = await create_simulation(runtime_store, total_records=300)
    settings = runtime_settings(
        sandbox,
        METRICS_PROM_ENABLED=True,
        HUBSPOT_BUCKET_NOTE=100,
        HUBSPOT_BUCKET_REFILL_MS=3_000,
    )
    running = await start_engine(settings, redis_url, database_file)
    try:
        done = await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 120)
    finally:
        await running.stop()
    assert Reason.BUCKET in refusals  # the notes did meet their bucket
    notes = expected_objects(done)[ObjectType.NOTE]
    assert len(notes) > 100
    stored = stored_keys(sandbox)[ObjectType.NOTE]
    assert set(stored) == notes and all(n == 1 for n in stored.values())
    telemetry = JobTelemetry(
        redis, settings.observability.buckets_ms, TelemetryKeys(settings.redis.key_prefix)
    )
    assert (await telemetry.read())["note"].count == len(notes)
