"""What must hold once a run under a fault has ended: every object in the CRM exactly once, the
database's counters equal to the CRM's counts, nothing of the run left in Redis without an
expiry, and none of the run's secrets in anything the deployment wrote or answered."""

from __future__ import annotations

import asyncio
import time

from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from core.clock import SystemClock
from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.runtime.retention import Retention
from engine.settings import load_settings
from schema.simulations import Simulation
from schema.store import Store
from streams import Queue, QueueConfig
from tests.engine.runtime.harness import expected_objects, stored_keys
from tests.faults.stack import Stack

FLUSH_WAIT_S = 20.0


class CountersBehind(AssertionError):
    """The database's counters differ from what the CRM holds."""


def run_body(total_records: int) -> dict[str, object]:
    """A backfill run of ``total_records`` to HubSpot (the sandbox)."""
    return {
        "name": "fault matrix",
        "scenario": "b2b_saas",
        "distribution_method": "uniform",
        "start_time": "2026-01-05T00:00:00Z",
        "end_time": "2026-01-12T00:00:00Z",
        "total_records": total_records,
        "backfill": True,
        "target": "hubspot",
    }


async def start_run(stack: Stack, total_records: int) -> int:
    """Create and start a run through the API; its id."""
    status, created = await stack.call("POST", "/api/simulations", run_body(total_records))
    assert status == 201, created
    status, started = await stack.call("POST", f"/api/simulations/{created['id']}/start")
    assert status == 200, started
    return int(created["id"])


async def wait_for_end(stack: Stack, sim_id: int, timeout_s: float = 120) -> str:
    """Poll the API until the run is completed or failed; its status."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, row = await stack.call("GET", f"/api/simulations/{sim_id}")
        if status == 200 and row["status"] in ("completed", "failed"):
            return str(row["status"])
        assert time.monotonic() < deadline, f"simulation {sim_id} did not end: {row}"
        await asyncio.sleep(0.25)


async def dead_letter_keys(redis: Redis, sim_id: int) -> set[str]:
    queue = Queue(redis, QueueConfig())
    return {entry.job.id for entry in await queue.dead_letters.entries(str(sim_id), limit=10_000)}


async def assert_exactly_once(stack: Stack, row: Simulation, redis: Redis) -> None:
    """Every planned object is in the CRM once — or its job is a dead letter, or it is an optional
    engagement the breaker thinned (counted) — and the sandbox saw no duplicate create."""
    stored = stored_keys(stack.sandbox)
    assert stack.sandbox.stats().duplicates_total == 0, stack.sandbox.stats().duplicates
    dead = await dead_letter_keys(redis, row.id)
    created_contacts = {int(key.rsplit(":", 1)[1]) for key in stored[ObjectType.CONTACT]}
    assert {f"{row.id}:contact:{i}" for i in range(row.total_records)} - set(
        stored[ObjectType.CONTACT]
    ) <= dead
    live = await metrics.read(redis, SimKeys(row.id, DEFAULT_KEY_PREFIX))
    for object_type, keys in expected_objects(row, created_contacts).items():
        have = stored[object_type]
        assert set(have) <= keys, (object_type, sorted(set(have) - keys)[:5])
        assert all(n == 1 for n in have.values()), (object_type, have.most_common(3))
        unexplained = keys - set(have) - dead
        assert len(unexplained) == live.get(object_type.value, {}).get("thinned", 0), (
            object_type,
            sorted(unexplained)[:5],
        )


async def assert_counters_match_crm(stack: Stack, store: Store, sim_id: int) -> None:
    """The database's created counters equal the objects the CRM holds, type by type (they are
    flushed beside the run, so this may take a flush interval after the end)."""
    in_crm = {t.value: sum(stored_keys(stack.sandbox)[t].values()) for t in ObjectType}
    deadline = time.monotonic() + FLUSH_WAIT_S
    while True:
        counters = await store.counters.get(sim_id)
        durable = {t.value: counters.get(t.value, {}).get("created", 0) for t in ObjectType}
        if durable == in_crm or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    if durable != in_crm:
        raise CountersBehind(f"database {durable}, CRM {in_crm}")


async def assert_nothing_left_forever(redis: Redis, store: Store, sim_id: int) -> None:
    """Once the run ended and the retention sweep (a worker's, once a minute; run once here)
    passed, each of its keys carries an expiry and no job of it is waiting, delayed or running."""
    queue = Queue(redis, QueueConfig())
    retention_ms = load_settings().runtime.retention_ms
    await Retention(
        redis,
        store,
        queue,
        key_prefix=DEFAULT_KEY_PREFIX,
        retention_ms=retention_ms,
        clock=SystemClock(),
    ).sweep()
    ttls = {key: await redis.pttl(key) for key in SimKeys(sim_id, DEFAULT_KEY_PREFIX).all()}
    assert all(ttl == -2 or 0 < ttl <= retention_ms for ttl in ttls.values()), ttls
    assert await queue.live_count(str(sim_id)) == 0


async def scrape_metrics(stack: Stack) -> None:
    """Read /metrics (as a scraper would; the answer joins what the secret scan reads)."""
    status, text = await stack.call("GET", "/metrics")
    assert status == 200
    families = list(text_string_to_metric_families(text.decode()))
    assert families


def assert_no_secret(stack: Stack) -> None:
    """No secret of the run in any log line, command output or HTTP answer."""
    said = stack.said()
    assert len(said) > 1_000, "nothing captured: the scan would prove nothing"
    for name, value in zip(
        ("API key", "HubSpot token", "TOKEN_ENC_SECRET"),
        stack.secrets.values(stack.api_key),
        strict=True,
    ):
        assert value not in said, f"the {name} leaked"
