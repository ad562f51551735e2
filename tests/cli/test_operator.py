"""Operator commands as an operator runs them — real processes on the API's database and Redis —
and what the running API makes of them at once: `simcrm keys rotate|revoke`, `simcrm users
disable|enable`, `simcrm dlq purge`, `simcrm limits reset`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import orjson
from redis.asyncio import Redis

from api.appkeys import LIMITER
from limits import Outcome
from tests.api.conftest import Api, api, database_file, make_api
from tests.api.test_deadletters import dead_letter

__all__ = ["api", "database_file", "make_api"]

SIMCRM = Path(sys.executable).parent / "simcrm"
ACCOUNT = "62515000"


async def simcrm(database: str, redis_url: str, *args: str) -> tuple[int, str]:
    """Run `simcrm ARGS` on the test's database and Redis; returns (exit code, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update({"DATABASE_URL": database, "REDIS_URL": redis_url, "LOG_LEVEL": "warning"})
    process = await asyncio.create_subprocess_exec(
        str(SIMCRM),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_keys_and_users_take_effect_on_the_next_request(
    api: Api, database_file: str, redis_url: str
) -> None:
    """A key the API has just accepted (and so remembers) is refused on the very next request
    once `simcrm keys rotate` replaced it; the printed key works. `users disable` shuts the user
    out at once, `users enable` lets them in again, `keys revoke` leaves no working key."""
    assert (await api.call("member", "GET", "/api/me"))[0] == 200
    code, out = await simcrm(
        database_file, redis_url, "keys", "rotate", "member@example.com", "--json"
    )
    assert code == 0, out
    rotated = orjson.loads(out)
    assert (await api.call("member", "GET", "/api/me"))[0] == 401
    api.keys["member"] = rotated["api_key"]
    assert (await api.call("member", "GET", "/api/me"))[1]["id"] == rotated["id"]

    code, out = await simcrm(database_file, redis_url, "users", "disable", str(rotated["id"]))
    assert code == 0 and "is disabled" in out, out
    assert (await api.call("member", "GET", "/api/me"))[0] == 401
    code, out = await simcrm(database_file, redis_url, "users", "list")
    assert "member@example.com  disabled" in out, out
    code, out = await simcrm(database_file, redis_url, "users", "enable", "member@example.com")
    assert code == 0, out
    assert (await api.call("member", "GET", "/api/me"))[0] == 200

    code, out = await simcrm(database_file, redis_url, "keys", "revoke", "member@example.com")
    assert code == 0, out
    assert (await api.call("member", "GET", "/api/me"))[0] == 401
    assert (await api.call("other", "GET", "/api/me"))[0] == 200
    code, out = await simcrm(database_file, redis_url, "keys", "revoke", "nobody@example.com")
    assert code == 1 and "no user 'nobody@example.com'" in out, out


async def test_dlq_purge_is_a_dry_run_without_yes(
    api: Api, database_file: str, redis_url: str, redis: Redis
) -> None:
    """`simcrm dlq purge SIM` lists what would go and deletes nothing; with --categories and
    --yes it deletes exactly those; the API's view agrees."""
    sim = await api.create("member")
    await dead_letter(redis, api.settings, sim["id"], 4)
    code, out = await simcrm(database_file, redis_url, "dlq", "purge", str(sim["id"]))
    assert code == 0 and "dry run: 4 dead letter(s) would go" in out, out
    path = f"/api/simulations/{sim['id']}/dlq"
    assert (await api.call("boss", "GET", path))[1]["total"] == 4
    code, out = await simcrm(
        database_file, redis_url, "dlq", "purge", str(sim["id"]), "--categories", "server", "--yes"
    )
    assert code == 0 and "purged 2 dead letter(s)" in out, out
    assert (await api.call("boss", "GET", path))[1]["counts"] == {"validation": 2}
    code, out = await simcrm(database_file, redis_url, "dlq", "purge", "1", "--categories", "x")
    assert code == 2 and "unknown x" in out, out


async def test_limits_reset(api: Api, database_file: str, redis_url: str) -> None:
    """`simcrm limits reset ACCOUNT` closes an open breaker and ends a cooldown, saying what the
    state was; a non-numeric account is refused."""
    limiter = api.app[LIMITER]
    await limiter.report(ACCOUNT, Outcome.RATE_LIMITED, retry_after_ms=600_000)
    for _ in range(20):
        await limiter.report(ACCOUNT, Outcome.FAILED)
    assert (await limiter.state(ACCOUNT)).breaker != "closed"
    code, out = await simcrm(database_file, redis_url, "limits", "reset", ACCOUNT)
    assert code == 0 and f"reset the limits of account {ACCOUNT}" in out, out
    state = await limiter.state(ACCOUNT)
    assert state.breaker == "closed" and state.cooldown_until_ms is None
    code, out = await simcrm(database_file, redis_url, "limits", "reset", "abc")
    assert code == 2 and "numeric portal id" in out, out
