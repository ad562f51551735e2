"""/metrics: job latency and outcomes recorded by workers, queue depth, limiter gauges."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ErrorCategory
from engine.telemetry import JobTelemetry, TelemetryKeys
from limits import Limiter, Outcome
from schema.crypto import TokenCipher
from streams import ACK, Batched, DeadLetter, Job, PerJob, Queue
from streams import Outcome as JobOutcome
from tests.api.conftest import SECRET, Api, ApiFactory, api_settings

SCRAPER = "scrape-token-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_bucket_counts_are_cumulative(redis: Redis) -> None:
    """Each call lands in the first bucket at least its duration; reading gives cumulative counts
    ending with +Inf, the sum and count, and outcomes per job type."""
    telemetry = JobTelemetry(redis, (50, 100, 250), TelemetryKeys(DEFAULT_KEY_PREFIX))
    await telemetry.record("contact", [ACK, ACK], 120.0)
    await telemetry.record("contact", [DeadLetter(ErrorCategory.AUTH, "no")], 20.0)
    await telemetry.record("contact", [ACK], 9_000.0)
    stats = (await telemetry.read())["contact"]
    assert [count for _, count in stats.buckets] == [1, 1, 3, 4]
    assert stats.buckets[-1][0] == float("inf")
    assert stats.count == 4 and stats.sum_ms == 120 * 2 + 20 + 9_000
    assert stats.outcomes == {"ok": 3, "dead": 1}


async def test_metrics_exposes_jobs_queue_and_limits(make_api: ApiFactory, redis: Redis) -> None:
    """After instrumented workers ran jobs, /metrics has the latency histogram and outcome counts
    per type, the queue's depth per shard, and the limiter gauges of a stored token's account
    (breaker open after failures)."""
    api: Api = await make_api(
        PROM_DEFAULT_BUCKETS=(50, 100, 250, 500, 1000, 2000), METRICS_TOKEN=SecretStr(SCRAPER)
    )
    settings = api_settings()
    queue = Queue(redis, settings.queue_config())
    await queue.open()

    async def contacts(jobs: Sequence[Job]) -> Sequence[JobOutcome]:
        return [ACK] * len(jobs)

    async def note(job: Job) -> JobOutcome:
        return DeadLetter(ErrorCategory.VALIDATION, "bad note")

    telemetry = JobTelemetry(
        redis, settings.observability.buckets_ms, TelemetryKeys(settings.redis.key_prefix)
    )
    handlers = telemetry.instrument({"contact": Batched(contacts), "note": PerJob(note)})
    await queue.enqueue_many(
        [Job(f"c{n}", "contact", "1") for n in range(3)] + [Job("n0", "note", "1")]
    )
    await queue.enqueue(Job("later", "contact", "1"), due_ms=int(time.time() * 1000) + 3_600_000)
    async with queue.worker(handlers, run_mover=False) as worker:
        deadline = time.monotonic() + 10
        while worker.totals.acked + worker.totals.dead < 4:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)

    member = await api.store.users.by_email("member@example.com")
    assert member is not None
    cipher = TokenCipher(api_settings(TOKEN_ENC_SECRET=SecretStr(SECRET)).security.token_keys())
    await api.store.credentials.put(member.id, "pat-na1-0000-9999", cipher, portal_id=5150)
    limiter = Limiter(redis, settings.limits.config())
    for _ in range(settings.limits.breaker_failures + 1):
        await limiter.report("5150", Outcome.FAILED)

    response = await api.client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found = samples(await response.text())
    assert found[("simcrm_redis_up", ())] == 1
    assert found[("simcrm_jobs_total", (("outcome", "ok"), ("type", "contact")))] == 3
    assert found[("simcrm_jobs_total", (("outcome", "dead"), ("type", "note")))] == 1
    assert found[("simcrm_job_duration_seconds_count", (("type", "contact"),))] == 3
    assert found[("simcrm_job_duration_seconds_bucket", (("le", "+Inf"), ("type", "note")))] == 1
    bounds = {
        labels[0][1]
        for name, labels in found
        if name == "simcrm_job_duration_seconds_bucket" and labels[1] == ("type", "contact")
    }
    assert bounds == {"0.05", "0.1", "0.25", "0.5", "1", "2", "+Inf"}
    assert found[("simcrm_queue_depth", (("shard", "0"),))] == 1  # the delayed job
    assert found[("simcrm_queue_delayed", (("shard", "0"),))] == 1
    assert found[("simcrm_queue_dead_letters", (("shard", "0"),))] == 1
    assert found[("simcrm_limiter_breaker_state", (("portal", "5150"),))] == 2
    assert found[("simcrm_limiter_window_limit", (("portal", "5150"),))] > 0
    assert ("simcrm_limiter_bucket_capacity", (("kind", "contact"), ("portal", "5150"))) in found


async def test_metrics_is_absent_unless_enabled(make_api: ApiFactory) -> None:
    """Without METRICS_PROM_ENABLED there is no /metrics endpoint (a JSON 404)."""
    api = await make_api(METRICS_PROM_ENABLED=False)
    response = await api.client.get("/metrics")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def account_with_open_breaker(api: Api, redis: Redis) -> None:
    member = await api.store.users.by_email("member@example.com")
    assert member is not None
    cipher = TokenCipher(api_settings().security.token_keys())
    await api.store.credentials.put(member.id, "pat-na1-0000-9999", cipher, portal_id=5150)
    limiter = Limiter(redis, api.settings.limits.config())
    for _ in range(api.settings.limits.breaker_failures + 1):
        await limiter.report("5150", Outcome.FAILED)


async def test_without_a_token_no_account_is_listed(make_api: ApiFactory, redis: Redis) -> None:
    """With METRICS_TOKEN unset, /metrics is open but names no HubSpot account: no series
    carries a portal label, and the portal id appears nowhere in the text."""
    api = await make_api()
    await account_with_open_breaker(api, redis)
    response = await api.client.get("/metrics")
    text = await response.text()
    assert response.status == 200
    assert "5150" not in text and "portal=" not in text
    assert samples(text)[("simcrm_redis_up", ())] == 1


async def test_metrics_token_is_required_when_set(make_api: ApiFactory, redis: Redis) -> None:
    """With METRICS_TOKEN set, a scrape without it (or with a wrong one, or an API key) is a 401
    JSON error; the right one sees the per-account series."""
    api = await make_api(METRICS_TOKEN=SecretStr(SCRAPER))
    await account_with_open_breaker(api, redis)
    for headers in ({}, {"Authorization": "Bearer wrong"}, api.auth("boss")):
        response = await api.client.get("/metrics", headers=headers)
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"
    response = await api.client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})
    assert response.status == 200
    assert 'portal="5150"' in await response.text()
