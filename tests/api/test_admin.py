"""Operator endpoints: purge dead letters (dry run first), reset an account's limiter, rotate and
revoke API keys, disable and enable users — and who may call each."""

from __future__ import annotations

from redis.asyncio import Redis

from api.appkeys import LIMITER
from limits import Outcome
from schema.users import Role
from tests.api.conftest import Api, error_of
from tests.api.test_deadletters import dead_letter

ACCOUNT = "62515000"


def operator_calls(sim_id: int, user_id: int) -> list[tuple[str, str]]:
    return [
        ("DELETE", f"/api/simulations/{sim_id}/dlq"),
        ("POST", f"/api/limits/{ACCOUNT}/reset"),
        ("GET", "/api/users"),
        ("POST", f"/api/users/{user_id}/api-key"),
        ("DELETE", f"/api/users/{user_id}/api-key"),
        ("POST", f"/api/users/{user_id}/disable"),
        ("POST", f"/api/users/{user_id}/enable"),
    ]


async def test_who_may_call_the_operator_endpoints(api: Api) -> None:
    """Without a key every operator endpoint is 401; a member gets 403, even on their own
    simulation and their own user; a boss naming a simulation or user that does not exist gets
    404. Nothing changed along the way: every key still works."""
    sim = await api.create("member")
    member = await api.store.users.by_email("member@example.com")
    assert member is not None
    for method, path in [*operator_calls(sim["id"], member.id), ("POST", "/api/me/api-key")]:
        response = await api.client.request(method, path)
        assert response.status == 401, (method, path)
        assert error_of(await response.json())["code"] == "unauthorized"
    for method, path in operator_calls(sim["id"], member.id):
        status, body = await api.call("member", method, path)
        assert status == 403, (method, path, body)
        assert error_of(body)["code"] == "forbidden"
    for method, path in operator_calls(999_999, 999_999)[2:]:
        if path == "/api/users":
            continue
        status, body = await api.call("boss", method, path)
        assert status == 404, (method, path, body)
    status, body = await api.call("boss", "DELETE", "/api/simulations/999999/dlq")
    assert status == 404, body
    status, body = await api.call("boss", "POST", "/api/limits/not-an-account/reset")
    assert status == 404, body
    for who in ("member", "other", "boss", "boss2"):
        assert (await api.call(who, "GET", "/api/me"))[0] == 200, who


async def test_purge_is_a_dry_run_first(api: Api, redis: Redis) -> None:
    """A purge without dryRun=false only reports what would go, by category; the real call
    deletes exactly that (or only the categories named), and the dead letters are gone from
    the simulation's view and the summary."""
    sim = await api.create("member")
    await dead_letter(redis, api.settings, sim["id"], 6)
    path = f"/api/simulations/{sim['id']}/dlq"
    status, dry = await api.call("boss", "DELETE", path)
    assert status == 200, dry
    assert dry == {
        "simulationId": sim["id"],
        "dryRun": True,
        "selected": {"validation": 3, "server": 3},
        "selectedTotal": 6,
        "purged": 0,
    }
    assert (await api.call("boss", "GET", path))[1]["total"] == 6

    status, body = await api.call("boss", "DELETE", f"{path}?categories=nonsense")
    assert status == 422 and "categories" in error_of(body)["message"], body
    status, some = await api.call("boss", "DELETE", f"{path}?dryRun=false&categories=server")
    assert status == 200 and some["purged"] == 3 and some["selected"] == {"server": 3}, some
    assert (await api.call("boss", "GET", path))[1]["counts"] == {"validation": 3}

    status, rest = await api.call("boss", "DELETE", f"{path}?dryRun=false")
    assert status == 200 and rest["purged"] == 3, rest
    view = (await api.call("boss", "GET", path))[1]
    assert view["total"] == 0 and view["samples"] == []
    assert (await api.call("boss", "GET", "/api/dlq/summary"))[1]["total"] == 0


async def test_limits_reset_clears_breaker_and_cooldown(api: Api) -> None:
    """A boss resets an account whose breaker is open and which is cooling down after a 429:
    the next health read shows it closed, with no cooldown."""
    limiter = api.app[LIMITER]
    now = api.clock.now_ms()
    await limiter.report(ACCOUNT, Outcome.RATE_LIMITED, now_ms=now, retry_after_ms=60_000)
    for _ in range(20):
        await limiter.report(ACCOUNT, Outcome.FAILED, now_ms=now)
    before = await limiter.state(ACCOUNT, now_ms=now)
    assert before.breaker != "closed" and before.cooldown_until_ms is not None
    status, body = await api.call("boss", "POST", f"/api/limits/{ACCOUNT}/reset")
    assert (status, body) == (200, {"account": ACCOUNT, "reset": True})
    after = await limiter.state(ACCOUNT, now_ms=now)
    assert after.breaker == "closed" and after.cooldown_until_ms is None
    assert after.breaker_trips == 0


async def test_rotated_and_revoked_keys_stop_at_once(api: Api) -> None:
    """Rotating a key answers the new one and the old one is refused on the next request (even
    though it was just used, and so remembered); revoking leaves no working key; a user may do
    both to their own key only."""
    assert (await api.call("member", "GET", "/api/me"))[0] == 200
    status, body = await api.call("member", "POST", "/api/me/api-key")
    assert status == 200, body
    old, api.keys["member"] = api.keys["member"], body["apiKey"]
    assert body["apiKey"] != old
    response = await api.client.get("/api/me", headers={"Authorization": f"Bearer {old}"})
    assert response.status == 401
    assert (await api.call("member", "GET", "/api/me"))[1]["email"] == "member@example.com"
    assert (await api.call("other", "GET", "/api/me"))[0] == 200

    status, _ = await api.call("member", "DELETE", "/api/me/api-key")
    assert status == 204
    assert (await api.call("member", "GET", "/api/me"))[0] == 401

    member = await api.store.users.by_email("member@example.com")
    assert member is not None and not member.has_key
    status, body = await api.call("boss", "POST", f"/api/users/{member.id}/api-key")
    assert status == 200 and body["userId"] == member.id, body
    api.keys["member"] = body["apiKey"]
    assert (await api.call("member", "GET", "/api/me"))[0] == 200
    status, _ = await api.call("boss", "DELETE", f"/api/users/{member.id}/api-key")
    assert status == 204
    assert (await api.call("member", "GET", "/api/me"))[0] == 401


async def test_a_disabled_users_key_stops_working(api: Api) -> None:
    """A disabled user's key is refused at once (their simulations stay); enabled again, the
    same key works; a boss cannot disable themselves; the user list shows the state."""
    sim = await api.create("member")
    member = await api.store.users.by_email("member@example.com")
    boss = await api.store.users.by_email("boss@example.com")
    assert member is not None and boss is not None and boss.role is Role.BOSS
    assert (await api.call("member", "GET", "/api/me"))[0] == 200
    status, body = await api.call("boss", "POST", f"/api/users/{member.id}/disable")
    assert status == 200 and body["disabled"] is True, body
    status, body = await api.call("member", "GET", f"/api/simulations/{sim['id']}")
    assert status == 401, body
    listed = {u["email"]: u for u in (await api.call("boss", "GET", "/api/users"))[1]["users"]}
    assert listed["member@example.com"]["disabled"] is True
    assert "apiKey" not in listed["member@example.com"]
    assert (await api.call("boss", "GET", f"/api/simulations/{sim['id']}"))[0] == 200

    status, body = await api.call("boss", "POST", f"/api/users/{member.id}/enable")
    assert status == 200 and body["disabled"] is False, body
    assert (await api.call("member", "GET", f"/api/simulations/{sim['id']}"))[0] == 200
    status, body = await api.call("boss", "POST", f"/api/users/{boss.id}/disable")
    assert status == 409, body
