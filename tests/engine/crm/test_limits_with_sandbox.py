"""The limiter, the client and the sandbox together: what HubSpot's answers do to the limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from core.clock import ManualClock
from engine.crm import (
    HubSpotTransport,
    ObjectInput,
    ObjectType,
    PortalClient,
    RateLimited,
    RateLimitPolicy,
    ServerError,
    Throttled,
    check_token,
)
from limits import BreakerState, Limiter, Reason
from sandbox import Fault
from tests.support.sandboxes import PORTAL, TOKEN, SandboxFactory

Client = Callable[..., Awaitable[HubSpotTransport]]


def contact(n: int) -> ObjectInput:
    return ObjectInput({"email": f"c{n}@example.com"})


async def test_a_sandbox_that_429s_anyway_puts_the_limiter_in_cooldown(
    sandbox_factory: SandboxFactory, limiter: Limiter, transport_factory: Client
) -> None:
    """With the sandbox's limit (5) below the limiter's (100), requests already admitted and in
    flight together (answers take 300 ms) meet TEN_SECONDLY_ROLLING 429s; the client classifies
    them and the limiter cools down, refusing the next request with reason ``cooldown``."""
    sandbox = await sandbox_factory(tier=5, latency_ms=300)
    portal = PortalClient(await transport_factory(sandbox.url, limiter=limiter), PORTAL, TOKEN)
    results = await asyncio.gather(
        *(portal.create(ObjectType.CONTACT, contact(n)) for n in range(8)), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, RateLimited)]
    assert len(limited) == 3
    assert {r.policy for r in limited} == {RateLimitPolicy.TEN_SECONDLY_ROLLING}
    state = await limiter.state(PORTAL)
    assert state.cooldown_reason is Reason.COOLDOWN
    with pytest.raises(Throttled) as refused:
        await portal.create(ObjectType.CONTACT, contact(99))
    assert refused.value.reason == Reason.COOLDOWN
    assert refused.value.wait_ms == 15_000
    assert sandbox.stats().rate_limited["TEN_SECONDLY_ROLLING"] == 3


async def test_headers_teach_the_limiter_a_lower_limit_before_any_429(
    sandbox_factory: SandboxFactory, limiter: Limiter, transport_factory: Client
) -> None:
    """Sent one at a time, requests to a sandbox limited to 5 stop at 5: the first answer's
    X-HubSpot-RateLimit-Max lowers the limiter's window, so no 429 is ever met."""
    sandbox = await sandbox_factory(tier=5)
    portal = PortalClient(await transport_factory(sandbox.url, limiter=limiter), PORTAL, TOKEN)
    for n in range(5):
        await portal.create(ObjectType.CONTACT, contact(n))
    with pytest.raises(Throttled) as refused:
        await portal.create(ObjectType.CONTACT, contact(5))
    assert refused.value.reason == Reason.WINDOW
    assert sandbox.stats().rate_limited_total == 0


async def test_a_daily_429_is_told_apart(
    sandbox_factory: SandboxFactory,
    limiter: Limiter,
    transport_factory: Client,
    manual_clock: ManualClock,
) -> None:
    """Another app of the account spends the shared daily budget; our next request meets a
    DAILY 429, which the client tells apart from the burst limit, and the limiter holds requests
    until midnight UTC (15 h from 09:00) with reason ``daily``, not for 15 s."""
    sandbox = await sandbox_factory(daily_limit=3)
    other_app = PortalClient(await transport_factory(sandbox.url), PORTAL, "pat-another-app")
    for n in range(3):
        await other_app.create(ObjectType.CONTACT, contact(n))
    portal = PortalClient(await transport_factory(sandbox.url, limiter=limiter), PORTAL, TOKEN)
    with pytest.raises(RateLimited) as limited:
        await portal.create(ObjectType.CONTACT, contact(3))
    assert limited.value.policy is RateLimitPolicy.DAILY
    with pytest.raises(Throttled) as refused:
        await portal.create(ObjectType.CONTACT, contact(3))
    assert (refused.value.reason, refused.value.wait_ms) == (Reason.DAILY, 15 * 3_600_000)
    manual_clock.advance(15 * 3_600_000)
    assert (await portal.create(ObjectType.CONTACT, contact(3))).ok


@pytest.mark.parametrize("learn", ["check_token", "account"])
async def test_the_daily_limit_resets_at_the_accounts_own_midnight(
    sandbox_factory: SandboxFactory,
    limiter: Limiter,
    transport_factory: Client,
    manual_clock: ManualClock,
    learn: str,
) -> None:
    """An account in New York (09:00 UTC is 04:00 there): once the account's details are read —
    by a token check, or by the account look-up a stored token's first use makes — a DAILY 429
    holds requests until midnight in New York (05:00 UTC, 20 h on), not midnight UTC, when
    HubSpot would still refuse them."""
    sandbox = await sandbox_factory(daily_limit=5, time_zone="America/New_York")
    transport = await transport_factory(sandbox.url, limiter=limiter)
    portal = PortalClient(transport, PORTAL, TOKEN)
    if learn == "check_token":  # two requests: the account's details, one contact listed
        assert (await check_token(transport, TOKEN)).time_zone == "America/New_York"
    else:  # one request
        await portal.account()
    other_app = PortalClient(await transport_factory(sandbox.url), PORTAL, "pat-another-app")
    for n in range(3 if learn == "check_token" else 4):  # what is left of the day
        await other_app.create(ObjectType.CONTACT, contact(n))
    with pytest.raises(RateLimited):
        await portal.create(ObjectType.CONTACT, contact(10))
    with pytest.raises(Throttled) as refused:
        await portal.create(ObjectType.CONTACT, contact(10))
    assert (refused.value.reason, refused.value.wait_ms) == (Reason.DAILY, 20 * 3_600_000)
    manual_clock.advance(20 * 3_600_000)
    assert (await portal.create(ObjectType.CONTACT, contact(10))).ok


async def test_daily_headers_stop_requests_before_a_429(
    sandbox_factory: SandboxFactory, limiter: Limiter, transport_factory: Client
) -> None:
    """When X-HubSpot-RateLimit-Daily-Remaining reaches 0 the limiter stops at once (reason
    ``daily``) and no DAILY 429 is ever met."""
    sandbox = await sandbox_factory(daily_limit=3)
    portal = PortalClient(await transport_factory(sandbox.url, limiter=limiter), PORTAL, TOKEN)
    for n in range(3):
        await portal.create(ObjectType.CONTACT, contact(n))
    with pytest.raises(Throttled) as refused:
        await portal.create(ObjectType.CONTACT, contact(3))
    assert refused.value.reason == Reason.DAILY
    assert sandbox.stats().rate_limited_total == 0


async def test_the_breaker_opens_after_9_failures_and_closes_after_a_good_probe(
    sandbox_factory: SandboxFactory,
    limiter: Limiter,
    transport_factory: Client,
    manual_clock: ManualClock,
) -> None:
    """Nine 503s within 60 s open the breaker (requests refused, reason ``breaker``, nothing
    sent); after the open time one probe goes out, succeeds, and the breaker closes."""
    sandbox = await sandbox_factory(error_rate=1.0, faults=(Fault.UNAVAILABLE,))
    portal = PortalClient(await transport_factory(sandbox.url, limiter=limiter), PORTAL, TOKEN)
    for n in range(9):
        assert (await limiter.state(PORTAL)).breaker is BreakerState.CLOSED
        with pytest.raises(ServerError):
            await portal.create(ObjectType.CONTACT, contact(n))
        manual_clock.advance(5_000)
    state = await limiter.state(PORTAL)
    assert (state.breaker, state.breaker_trips) == (BreakerState.OPEN, 1)
    sent = sandbox.stats().requests
    with pytest.raises(Throttled) as refused:
        await portal.create(ObjectType.CONTACT, contact(9))
    assert refused.value.reason == Reason.BREAKER
    assert sandbox.stats().requests == sent
    manual_clock.advance(limiter.config.breaker_open_ms)
    sandbox.reconfigure(error_rate=0.0)
    assert (await limiter.state(PORTAL)).breaker is BreakerState.HALF_OPEN
    assert (await portal.create(ObjectType.CONTACT, contact(9))).ok
    assert (await limiter.state(PORTAL)).breaker is BreakerState.CLOSED
    assert (await portal.create(ObjectType.CONTACT, contact(10))).ok
