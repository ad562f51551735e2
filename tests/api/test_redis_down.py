"""With Redis stopped (a private redis-server killed mid-test) the API keeps answering."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr
from redis.asyncio import Redis

from api.app import create_app
from core.clock import ManualClock
from core.keys import DEFAULT_KEY_PREFIX
from engine.runtime.keys import SimKeys
from schema.crypto import TokenCipher
from tests.api.conftest import BODY, SECRET, Api, ClientFactory, api_settings, error_of, make_users
from tests.support.servers import RedisServer


async def test_every_endpoint_answers_while_redis_is_down(
    aiohttp_client: ClientFactory,
    database_file: str,
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    """Redis killed: health is 503 naming it; metrics come from the store (`db`); dead letters,
    their summary, thinning, segments and limits answer empty with `redis-disabled`; replay is
    503; simulations can still be created, listed, started; /metrics says Redis is down. When
    Redis is back, live answers resume."""
    server = redis_server_factory()
    keys = await make_users(database_file)
    app = create_app(
        api_settings(), redis_url=server.url, database_url=database_file, clock=ManualClock()
    )
    api = Api(app, await aiohttp_client(app), keys, ManualClock())
    sim = await api.create("member")
    token_sim = await api.create("member", target="hubspot")
    member = await api.store.users.by_email("member@example.com")
    assert member is not None
    cipher = TokenCipher(api_settings(TOKEN_ENC_SECRET=SecretStr(SECRET)).security.token_keys())
    await api.store.credentials.put(member.id, "pat-na1-0000-1111", cipher, portal_id=4242)
    await api.store.counters.raise_to(sim["id"], {("contact", "created"): 9})
    live = Redis.from_url(server.url)
    await live.hset(SimKeys(sim["id"], DEFAULT_KEY_PREFIX).metrics, mapping={"contact:created": 11})
    await live.aclose()
    _, before = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    assert (before["source"], before["counts"]["contact"]["created"]) == ("redis", 11)

    server.stop(kill=True)

    health = await api.client.get("/api/health", headers=api.auth("boss"))
    report = await health.json()
    assert health.status == 503
    assert report["status"] == "degraded" and report["down"] == ["redis"]
    assert report["database"]["ok"] is True and report["redis"]["error"]

    status, metrics = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    assert status == 200
    assert (metrics["source"], metrics["counts"]["contact"]["created"]) == ("db", 9)

    base = f"/api/simulations/{sim['id']}"
    empty: dict[str, tuple[str, dict[str, Any]]] = {
        f"{base}/dlq": ("boss", {"total": 0, "counts": {}, "samples": []}),
        "/api/dlq/summary": ("boss", {"total": 0, "byCategory": {}, "simulations": {}}),
        f"{base}/thinning-events": ("boss", {"events": []}),
        f"/api/simulations/{token_sim['id']}/limits": ("member", {"portal": "4242", "state": None}),
    }
    for path, (who, expected) in empty.items():
        status, body = await api.call(who, "GET", path)
        assert status == 200, (path, body)
        assert body["source"] == "redis-disabled", path
        assert {k: body[k] for k in expected} == expected, path

    status, segments = await api.call("member", "GET", f"{base}/segments?limit=3")
    assert status == 200 and segments["source"] == "redis-disabled"
    assert segments["next"] is None and segments["segments"][0]["upto"] is None

    status, replay = await api.call("boss", "POST", f"{base}/dlq/replay", {})
    assert status == 503 and error_of(replay)["code"] == "unavailable"

    created = await api.create("member")
    status, started = await api.call("member", "POST", f"/api/simulations/{created['id']}/start")
    assert (status, started["status"]) == (200, "running")
    assert len((await api.call("member", "GET", "/api/simulations"))[1]["simulations"]) == 3
    scraped = await (await api.client.get("/metrics")).text()
    assert "simcrm_redis_up 0.0" in scraped

    server.start()
    for _ in range(50):
        if (await api.client.get("/api/health")).status == 200:
            break
        await asyncio.sleep(0.1)
    _, after = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    assert after["source"] == "db"  # the killed server kept nothing: the store answers
    _, dlq = await api.call("boss", "GET", f"{base}/dlq")
    assert dlq["source"] == "redis"


async def test_redis_down_at_start_does_not_stop_the_api(
    aiohttp_client: ClientFactory,
    database_file: str,
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    """An API started while Redis is down serves (degraded) and recovers when Redis comes up."""
    server = redis_server_factory()
    server.stop()
    keys = await make_users(database_file)
    app = create_app(
        api_settings(), redis_url=server.url, database_url=database_file, clock=ManualClock()
    )
    api = Api(app, await aiohttp_client(app), keys, ManualClock())
    assert (await api.client.get("/api/health")).status == 503
    sim = await api.create("member", **{k: v for k, v in BODY.items() if k != "name"})
    status, metrics = await api.call("member", "GET", f"/api/simulations/{sim['id']}/metrics")
    assert (status, metrics["source"]) == (200, "db")
    server.start()
    assert (await api.client.get("/api/health")).status == 200
