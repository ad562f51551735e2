"""Boss endpoints: dead letters, their summary, replay (dry run, cap, limiter) and thinning."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ErrorCategory
from engine.runtime import thinning
from engine.runtime.keys import SimKeys
from engine.runtime.thinning import ThinningEvent
from engine.settings import Settings
from streams import DeadLetter, Job, Outcome, PerJob, Priority, Queue
from tests.api.conftest import Api, ApiFactory, error_of


async def dead_letter(redis: Redis, settings: Settings, sim_id: int, count: int) -> Queue:
    """Dead-letter ``count`` jobs of simulation ``sim_id`` (validation, then server failures)."""
    queue = Queue(redis, settings.queue_config())
    await queue.open()

    async def fail(job: Job) -> Outcome:
        category = ErrorCategory.VALIDATION if int(job.data["n"]) % 2 else ErrorCategory.SERVER
        return DeadLetter(category, f"refused {job.id}")

    jobs = [Job(f"{sim_id}:note:{n}:0", "note", str(sim_id), {"n": n}) for n in range(count)]
    await queue.enqueue_many(jobs)
    async with queue.worker({"note": PerJob(fail)}, run_mover=False) as worker:
        deadline = time.monotonic() + 10
        while worker.totals.dead < count:
            assert time.monotonic() < deadline, "jobs were not dead-lettered"
            await asyncio.sleep(0.02)
    return queue


async def test_members_may_not_use_boss_endpoints(api: Api) -> None:
    """Dead letters, replay and thinning events are 403 for a member, even on their own run."""
    sim = await api.create("member")
    for method, path in (
        ("GET", f"/api/simulations/{sim['id']}/dlq"),
        ("POST", f"/api/simulations/{sim['id']}/dlq/replay"),
        ("GET", f"/api/simulations/{sim['id']}/thinning-events"),
        ("GET", "/api/dlq/summary"),
    ):
        status, body = await api.call("member", method, path, {} if method == "POST" else None)
        assert status == 403, (path, body)
        assert error_of(body)["code"] == "forbidden"


async def test_dead_letters_counts_samples_and_summary(api: Api, redis: Redis) -> None:
    """A boss sees a simulation's dead letters by category with samples, and the summary over
    every simulation, linking to each one's dead letters; without a key the summary is 401."""
    sim = await api.create("member")
    await dead_letter(redis, api.settings, sim["id"], 5)
    status, body = await api.call("boss", "GET", f"/api/simulations/{sim['id']}/dlq")
    assert status == 200, body
    assert body["source"] == "redis"
    assert body["counts"] == {"server": 3, "validation": 2} and body["total"] == 5
    assert len(body["samples"]) == 5
    sample = body["samples"][0]
    assert sample["type"] == "note" and sample["id"].startswith(f"{sim['id']}:note:")
    assert sample["error"].startswith("refused") and sample["failedAt"] > 0
    _, summary = await api.call("boss", "GET", "/api/dlq/summary")
    assert summary["total"] == 5
    assert summary["byCategory"] == {"server": 3, "validation": 2}
    assert summary["simulations"] == {str(sim["id"]): {"server": 3, "validation": 2}}
    assert summary["links"] == {str(sim["id"]): f"/api/simulations/{sim['id']}/dlq"}
    linked = await api.call("boss", "GET", summary["links"][str(sim["id"])])
    assert linked[1]["total"] == 5
    anonymous = await api.client.get("/api/dlq/summary")
    assert anonymous.status == 401


async def test_replay_dry_run_then_real_with_the_cap(make_api: ApiFactory, redis: Redis) -> None:
    """A dry run (the default) selects by category and moves nothing; a real replay moves at
    most DLQ_REPLAY_LIMIT_CAP however large the asked limit."""
    api = await make_api(DLQ_REPLAY_LIMIT_CAP=2)
    sim = await api.create("member")
    queue = await dead_letter(redis, api.settings, sim["id"], 5)
    path = f"/api/simulations/{sim['id']}/dlq/replay"
    status, dry = await api.call("boss", "POST", path, {"categories": ["server"]})
    assert status == 200, dry
    assert dry["dryRun"] is True and dry["selected"] == {"server": 3} and dry["replayed"] == 0
    assert (await queue.dead_letters.scope(str(sim["id"]))).total == 5
    status, real = await api.call("boss", "POST", path, {"dryRun": False, "limit": 100})
    assert status == 200, real
    assert (real["limit"], real["cap"], real["replayed"]) == (2, 2, 2)
    assert (await queue.dead_letters.scope(str(sim["id"]))).total == 3
    shard = queue.keys.shard_of(str(sim["id"]))
    ready = [await redis.xlen(queue.keys.ready(shard, p)) for p in Priority]
    assert sum(ready) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"categories": ["bogus"]}, "categories.0"),
        ({"limit": 0}, "limit"),
        ({"dryRun": "maybe"}, "dryRun"),
        ({"dry_run": False, "everything": True}, "everything"),
    ],
)
async def test_replay_bodies_are_validated(api: Api, body: dict[str, object], field: str) -> None:
    """A bad replay body is a 422 naming the field (and does not count against the limiter)."""
    sim = await api.create("member")
    status, answer = await api.call(
        "boss", "POST", f"/api/simulations/{sim['id']}/dlq/replay", body
    )
    assert status == 422, answer
    assert error_of(answer)["details"][0]["field"] == field


async def test_replay_is_limited_to_five_calls_per_30_seconds(api: Api) -> None:
    """The sixth call within 30 s is a 429 with retryAfterMs (at the top level and in the error's
    details) and Retry-After; the limit is per user; stepping the clock past the window lets
    calls through again."""
    sim = await api.create("member")
    path = f"/api/simulations/{sim['id']}/dlq/replay"
    for _ in range(5):
        assert (await api.call("boss", "POST", path, {}))[0] == 200
        api.clock.advance(1_000)
    response = await api.client.post(path, json={}, headers=api.auth("boss"))
    refusal = await response.json()
    assert refusal.pop("retryAfterMs") == 25_000  # at the top level too
    error = error_of(refusal)
    assert response.status == 429
    assert error["code"] == "rate_limited"
    assert error["details"] == {"retryAfterMs": 25_000}
    assert response.headers["Retry-After"] == "25"
    assert (await api.call("boss2", "POST", path, {}))[0] == 200
    api.clock.advance(25_000)
    assert (await api.call("boss", "POST", path, {}))[0] == 200


async def test_thinning_events_newest_first(api: Api, redis: Redis) -> None:
    """Thinning events come back newest first, as many as asked, with their fields."""
    sim = await api.create("member")
    keys = SimKeys(sim["id"], DEFAULT_KEY_PREFIX)
    pipe = redis.pipeline()
    for n in range(3):
        event = ThinningEvent(at=1_000 + n, before=10, after=10 - n, factor=0.5, total_waiting=99,
                              reason="backlog")  # fmt: skip
        thinning.record(pipe, keys, event, keep=200)
    await pipe.execute()
    path = f"/api/simulations/{sim['id']}/thinning-events"
    status, body = await api.call("boss", "GET", f"{path}?limit=2")
    assert status == 200, body
    assert body["source"] == "redis"
    assert [event["at"] for event in body["events"]] == [1_002, 1_001]
    assert body["events"][0] == {
        "at": 1_002, "before": 10, "after": 8, "factor": 0.5, "totalWaiting": 99,
        "reason": "backlog",
    }  # fmt: skip
    status, bad = await api.call("boss", "GET", f"{path}?limit=zero")
    assert status == 422 and error_of(bad)["details"][0]["field"] == "limit"
