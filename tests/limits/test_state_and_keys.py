"""Snapshots, key layout (one slot per account), expiry, bounded growth, and the script loader."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from core.clock import ManualClock
from core.lua import lua_folder, read_scripts
from limits import BreakerState, LimitConfig, Limiter, Outcome, PortalKeys, Reason
from tests.limits.conftest import LimiterFactory


async def test_an_unknown_account_reads_as_fresh(make_limiter: LimiterFactory, portal: str) -> None:
    """state() of an account never used: empty windows, full buckets, closed breaker."""
    limiter = await make_limiter()
    state = await limiter.state(portal)
    assert (state.window_used, state.daily_used, state.recent_failures) == (0, 0, 0)
    assert all(b.tokens == b.capacity for b in state.buckets.values())
    assert state.breaker is BreakerState.CLOSED
    assert state.cooldown_until_ms is None


async def test_state_reports_what_happened(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """After traffic, a failure and a 429, the snapshot shows each, and serialises to JSON."""
    limiter = await make_limiter(window_limit=10, daily_limit=1_000)
    for kind, cost in (("contact", 100), ("note", 3), ("search", 1)):
        assert (await limiter.acquire(portal, kind, cost=cost)).allowed
    await limiter.report(portal, Outcome.FAILED)
    await limiter.report(portal, Outcome.RATE_LIMITED, retry_after_ms=4_000)
    state = await limiter.state(portal)
    assert (state.window_used, state.search_used, state.daily_used) == (2, 1, 3)
    assert state.buckets["note"].tokens == state.buckets["note"].capacity - 3
    assert state.recent_failures == 1
    assert (state.cooldown_until_ms, state.cooldown_reason) == (
        manual_clock.now_ms() + 4_000,
        Reason.COOLDOWN,
    )
    as_json = state.to_json()
    assert as_json["breaker"]["state"] == "closed"
    assert as_json["daily"] == {"limit": 1_000, "used": 3, "reset_at_ms": state.daily_reset_at_ms}


def test_every_script_touches_one_slot() -> None:
    """Each script's keys share the account's hash tag, hence one Cluster slot, whatever the
    portal id; and different accounts spread over different slots."""
    slots = set()
    for portal in ("1", "62515000", "987654321012", "42"):
        keys = PortalKeys(portal)
        for script_keys in (
            [keys.window, keys.state, keys.senders, keys.wanting],
            [keys.search, keys.state, keys.senders, keys.wanting],
            [keys.window, keys.failures, keys.state],
            list(keys.all()),
        ):
            assert len({key_slot(k.encode()) for k in script_keys}) == 1
        slots.add(key_slot(keys.state.encode()))
    assert len(slots) == 4


def test_portal_ids_that_would_break_the_tag_are_refused() -> None:
    """A portal id with braces, colons or spaces (or empty) cannot build keys."""
    for bad in ("", "1}2", "a:b", "x y"):
        with pytest.raises(ValueError, match="portal"):
            PortalKeys(bad)


async def test_keys_expire_and_stay_small(
    limits_redis: Redis | RedisCluster, portal: str, manual_clock: ManualClock
) -> None:
    """Every key of an account carries a TTL no longer than a day, and an hour of steady
    traffic (three senders) leaves the window log bounded (limit × (window + 30 s history) /
    window)."""
    limiter = Limiter(limits_redis, LimitConfig(window_limit=20), clock=manual_clock)
    for _ in range(3_600):
        decision = await limiter.acquire(portal, "contact", sender=f"{_ % 3}")
        if decision.allowed:
            await limiter.report(portal, Outcome.FAILED if _ % 500 == 0 else Outcome.OK)
        manual_clock.advance(1_000)
    for _ in range(25):  # a burst past the limit: a sender is refused room
        await limiter.acquire(portal, "contact", sender="burst")
    keys = PortalKeys(portal)
    for key in (keys.window, keys.failures, keys.state, keys.senders, keys.wanting):
        ttl = await limits_redis.pttl(key)
        assert 0 < ttl <= 24 * 3_600_000, key
    assert await limits_redis.zcard(keys.window) <= 20 * 41 // 10 + 1


async def test_reset_forgets_an_account(make_limiter: LimiterFactory, portal: str) -> None:
    """reset() clears a tripped breaker and a cooldown at once (the longest wait, the
    breaker's, is named while both hold)."""
    limiter = await make_limiter(breaker_failures=1)
    await limiter.report(portal, Outcome.FAILED)
    await limiter.report(portal, Outcome.FAILED)
    await limiter.report(portal, Outcome.RATE_LIMITED)
    assert (await limiter.acquire(portal, "contact")).reason is Reason.BREAKER
    await limiter.reset(portal)
    assert (await limiter.acquire(portal, "contact")).allowed


def test_every_script_has_a_header_matching_its_name() -> None:
    """The limiter's scripts pass the loader's checks, with the key counts their callers use
    (the loader itself is tested in tests/core)."""
    scripts = read_scripts(lua_folder("limits"))
    assert {name: (s.fixed_keys, s.variadic) for name, s in scripts.items()} == {
        "acquire": (4, False),
        "report": (3, False),
        "state": (6, False),
    }


async def test_scripts_survive_a_flushed_script_cache(
    make_limiter: LimiterFactory, limits_redis: Redis | RedisCluster, portal: str
) -> None:
    """After SCRIPT FLUSH (a restart, a failover) calls reload the script and carry on."""
    limiter = await make_limiter()
    await limits_redis.script_flush()
    assert (await limiter.acquire(portal, "contact")).allowed
