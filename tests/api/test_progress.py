"""Metrics, segments, plan, preview and limiter state through the API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from redis.asyncio import Redis

from api.app import create_app
from core.clock import ManualClock
from core.keys import DEFAULT_KEY_PREFIX
from engine.runtime.keys import SimKeys
from limits import Limiter, Outcome
from sandbox import Sandbox, SandboxConfig
from tests.api.conftest import BODY, Api, ClientFactory, api_settings, error_of, make_users

WINDOW_START_MS = 1_767_571_200_000  # BODY's window: 2026-01-05 to 2026-01-12 (UTC)
WINDOW_END_MS = 1_768_176_000_000


async def test_metrics_come_from_redis_while_it_has_them(api: Api, redis: Redis) -> None:
    """Live counts are read from the simulation's Redis hash, with totals over types."""
    sim = await api.create()
    keys = SimKeys(sim["id"], DEFAULT_KEY_PREFIX)
    await redis.hset(
        keys.metrics,
        mapping={
            "contact:created": 7,
            "note:created": 3,
            "note:thinned": 2,
            "contact:rate_limited": 4,
            "call:dead": 1,
            "all:scheduled": 12,
            "all:settled": 11,
        },
    )
    status, body = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    assert status == 200, body
    assert body["source"] == "redis"
    assert body["counts"]["contact"] == {"created": 7, "rate_limited": 4}
    totals = body["totals"]
    assert (totals["created"], totals["thinned"], totals["dead"]) == (10, 2, 1)
    assert (totals["rateLimited"], totals["scheduled"], totals["settled"]) == (4, 12, 11)
    assert body["clock"] is None


async def test_metrics_fall_back_to_the_durable_counters(api: Api) -> None:
    """With no live hash (flushed, expired, or never in Redis) the store's counters answer."""
    sim = await api.create()
    await api.store.counters.raise_to(sim["id"], {("contact", "created"): 5, ("all", "settled"): 5})
    _, body = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    assert body["source"] == "db"
    assert body["counts"]["contact"]["created"] == 5
    assert body["totals"]["settled"] == 5


async def test_a_running_simulation_reports_its_clock(api: Api) -> None:
    """Once started, metrics tell the simulated moment reached and the records now due."""
    sim = await api.create(backfill=False, time_scale=3600)
    _, started = await api.call("member", "POST", f"/api/simulations/{sim['id']}/start")
    started_ms = int(datetime.fromisoformat(started["started_at"]).timestamp() * 1000)
    api.clock.set(started_ms + 60_000)  # one wall minute = 60 simulated hours
    _, body = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    clock = body["clock"]
    assert clock["simulatedNowMs"] == WINDOW_START_MS + 60 * 3_600_000
    assert 0 < clock["dueRecords"] < 200
    api.clock.set(started_ms + 3_600_000)  # past the window's end
    _, later = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    assert later["clock"] == {"simulatedNowMs": WINDOW_END_MS, "dueRecords": 200}


async def test_segments_show_ranges_and_expansion(api: Api, redis: Redis) -> None:
    """Segments partition the records; their expansion state comes from the runtime's hash."""
    sim = await api.create()
    status, body = await api.call(
        "member", "GET", f"/api/simulations/{sim['id']}/segments?limit=1000"
    )
    assert status == 200, body
    assert body["total"] == 168 and body["segmentMs"] == 3_600_000
    segments = body["segments"]
    assert len(segments) == 168
    assert segments[0]["first"] == 0 and segments[-1]["stop"] == 200
    assert all(a["stop"] == b["first"] for a, b in itertools.pairwise(segments))
    busy = next(s for s in segments if s["stop"] > s["first"])
    await redis.hset(
        SimKeys(sim["id"], DEFAULT_KEY_PREFIX).segments,
        mapping={
            f"{busy['number']}:upto": busy["stop"],
            f"{busy['number']}:at": 123,
            "next": 5,
            "late_ms": 4_200,  # the run is behind its schedule (the backlog cap held it back)
            "late_max_ms": 9_000,
        },
    )
    _, page = await api.call(
        "member", "GET", f"/api/simulations/{sim['id']}/segments?offset={busy['number']}&limit=2"
    )
    first = page["segments"][0]
    assert (first["upto"], first["expandedAtMs"], first["done"]) == (busy["stop"], 123, True)
    assert page["next"] == 5 and page["source"] == "redis"
    assert (page["lateMs"], page["lateMaxMs"]) == (4_200, 9_000)
    status, bad = await api.call("member", "GET", f"/api/simulations/{sim['id']}/segments?limit=0")
    assert status == 422 and error_of(bad)["details"][0]["field"] == "limit"


async def test_plan_lists_planned_objects_and_the_curve(api: Api) -> None:
    """The plan has every record's contact, activities per type, and a curve summing to N."""
    sim = await api.create()
    status, plan = await api.call("member", "GET", f"/api/simulations/{sim['id']}/plan")
    assert status == 200, plan
    assert plan["planned"]["contact"] == 200
    assert plan["exact"] is True  # 200 records: every one planned
    assert sum(bucket["planned"] for bucket in plan["curve"]) == 200
    firsts = [bucket["first"] for bucket in plan["curve"]]
    assert firsts == sorted(firsts) and firsts[0] == 0
    assert {item["type"] for item in plan["activities"]} >= {"note", "call", "task"}


async def test_preview_draws_a_curve_without_storing(api: Api) -> None:
    """The preview answers the arrival curve of a body; a bad body is a 422 naming the field."""
    body = {**BODY, "distribution_method": "bell", "total_records": 5000}
    status, preview = await api.call("member", "POST", "/api/simulations/preview", body)
    assert status == 200, preview
    assert preview["records"] == 5000
    counts = [bucket["planned"] for bucket in preview["curve"]]
    assert sum(counts) == 5000
    middle = counts[len(counts) // 2 - 12 : len(counts) // 2 + 12]
    assert max(middle) > counts[0]  # a bell: more in the middle than at the edges
    status, bad = await api.call(
        "member", "POST", "/api/simulations/preview", {**BODY, "total_records": -3}
    )
    assert status == 422 and error_of(bad)["details"][0]["field"] == "total_records"
    assert (await api.call("member", "GET", "/api/simulations"))[1]["simulations"] == []


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig(portal_id=777001)) as running:
        yield running


async def test_limits_and_health_report_the_sandbox_account(
    aiohttp_client: ClientFactory,
    database_file: str,
    redis_url: str,
    redis: Redis,
    sandbox: Sandbox,
) -> None:
    """A sandbox simulation's limits are its account's; health lists that account, with an open
    breaker once enough failures were reported."""
    keys = await make_users(database_file)
    clock = ManualClock()
    settings = api_settings(SIMCRM_SANDBOX_URL=sandbox.url)
    app = create_app(settings, redis_url=redis_url, database_url=database_file, clock=clock)
    client = await aiohttp_client(app)
    auth = {"Authorization": f"Bearer {keys['member']}"}
    created = await (await client.post("/api/simulations", json=BODY, headers=auth)).json()
    limiter = Limiter(redis, settings.limits.config(), clock=clock)
    for _ in range(settings.limits.breaker_failures + 1):
        await limiter.report("777001", Outcome.FAILED)
    body = await (await client.get(f"/api/simulations/{created['id']}/limits", headers=auth)).json()
    assert body["portal"] == "777001" and body["source"] == "redis"
    assert body["state"]["breaker"]["state"] == "open"
    assert body["state"]["window"]["limit"] > 0
    health = await client.get("/api/health")
    report = await health.json()
    assert health.status == 200
    assert report["limits"] is None  # only a boss sees limits
    boss = {"Authorization": f"Bearer {keys['boss']}"}
    report = await (await client.get("/api/health", headers=boss)).json()
    assert [view["portal"] for view in report["limits"]] == ["777001"]
    assert report["limits"][0]["breaker"]["state"] == "open"
