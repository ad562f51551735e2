"""The 429 cooldown and the circuit breaker."""

from __future__ import annotations

from core.clock import ManualClock
from limits import BreakerState, Limiter, LimiterEvent, Outcome, Policy, Reason
from tests.limits.conftest import LimiterFactory


async def test_429_without_retry_after_cools_down_15_seconds(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A TEN_SECONDLY_ROLLING 429 without Retry-After holds every kind back for 15 s."""
    limiter = await make_limiter()
    decision = await limiter.acquire(portal, "contact")
    effect = await limiter.report(
        portal, Outcome.RATE_LIMITED, policy=Policy.WINDOW, acquired_at_ms=decision.at_ms
    )
    assert effect.event is LimiterEvent.COOLDOWN
    for kind in ("contact", "note", "other"):
        refused = await limiter.acquire(portal, kind)
        assert (refused.reason, refused.wait_ms) == (Reason.COOLDOWN, 15_000)
    manual_clock.advance(15_000)
    assert (await limiter.acquire(portal, "contact")).allowed


async def test_retry_after_sets_the_cooldown_and_it_only_grows(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Retry-After (in ms) sets the cooldown; a later 429 asking for less does not shorten it."""
    limiter = await make_limiter()
    await limiter.report(portal, Outcome.RATE_LIMITED, retry_after_ms=3_000)
    manual_clock.advance(1_000)
    effect = await limiter.report(portal, Outcome.RATE_LIMITED, retry_after_ms=500)
    assert effect.event is LimiterEvent.NOTHING
    assert (await limiter.acquire(portal, "call")).wait_ms == 2_000


async def test_daily_429_waits_for_the_daily_reset(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A DAILY 429 is told apart: requests wait until midnight UTC (15 h from 09:00), reason
    ``daily``, not the 15-second cooldown."""
    limiter = await make_limiter()
    await limiter.report(portal, Outcome.RATE_LIMITED, policy=Policy.DAILY)
    refused = await limiter.acquire(portal, "contact")
    assert (refused.reason, refused.wait_ms) == (Reason.DAILY, 15 * 3_600_000)
    state = await limiter.state(portal)
    assert state.cooldown_reason is Reason.DAILY
    manual_clock.advance(15 * 3_600_000)
    assert (await limiter.acquire(portal, "contact")).allowed


async def test_search_429_holds_back_only_searches(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """The search limit's 429 pauses searches for a second; creates go on."""
    limiter = await make_limiter()
    await limiter.report(portal, Outcome.RATE_LIMITED, policy=Policy.SEARCH)
    assert (await limiter.acquire(portal, "search")).reason is Reason.COOLDOWN
    assert (await limiter.acquire(portal, "contact")).allowed
    manual_clock.advance(1_000)
    assert (await limiter.acquire(portal, "search")).allowed


async def _fail(
    limiter: Limiter, portal: str, times: int, manual_clock: ManualClock, step: int
) -> list[LimiterEvent]:
    """Admit and fail ``times`` requests, ``step`` ms apart; the report events."""
    events = []
    for _ in range(times):
        decision = await limiter.acquire(portal, "contact")
        assert decision.allowed
        effect = await limiter.report(portal, Outcome.FAILED, acquired_at_ms=decision.at_ms)
        events.append(effect.event)
        manual_clock.advance(step)
    return events


async def test_breaker_opens_on_the_ninth_failure_within_60_seconds(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Eight failures in 60 s leave the breaker closed; the ninth opens it for the configured
    time, refusing every request with reason ``breaker``."""
    limiter = await make_limiter(breaker_open_ms=30_000)
    events = await _fail(limiter, portal, 8, manual_clock, step=1_000)
    assert set(events) == {LimiterEvent.NOTHING}
    assert (await limiter.state(portal)).breaker is BreakerState.CLOSED
    events = await _fail(limiter, portal, 1, manual_clock, step=0)
    assert events == [LimiterEvent.BREAKER_OPENED]
    refused = await limiter.acquire(portal, "note")
    assert (refused.reason, refused.wait_ms) == (Reason.BREAKER, 30_000)
    state = await limiter.state(portal)
    assert (state.breaker, state.breaker_trips) == (BreakerState.OPEN, 1)


async def test_failures_spread_over_more_than_60_seconds_do_not_trip(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Twenty failures 8 s apart never put more than eight in one 60 s window."""
    limiter = await make_limiter()
    events = await _fail(limiter, portal, 20, manual_clock, step=8_000)
    assert set(events) == {LimiterEvent.NOTHING}


async def test_half_open_lets_one_probe_through_and_its_success_closes(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Once the open time is over, exactly one request (the probe) passes; others wait for it.
    The probe's success closes the breaker and traffic flows again."""
    limiter = await make_limiter(breaker_open_ms=30_000, probe_timeout_ms=10_000)
    await _fail(limiter, portal, 9, manual_clock, step=0)
    manual_clock.advance(30_000)
    assert (await limiter.state(portal)).breaker is BreakerState.HALF_OPEN
    probe = await limiter.acquire(portal, "contact")
    assert probe.allowed
    assert probe.probe
    waiting = await limiter.acquire(portal, "contact")
    assert (waiting.reason, waiting.wait_ms) == (Reason.BREAKER, 10_000)
    effect = await limiter.report(portal, Outcome.OK, acquired_at_ms=probe.at_ms)
    assert effect.event is LimiterEvent.BREAKER_CLOSED
    assert (await limiter.state(portal)).breaker is BreakerState.CLOSED
    decision = await limiter.acquire(portal, "contact")
    assert decision.allowed
    assert not decision.probe


async def test_failed_probe_reopens_and_a_lost_probe_times_out(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A probe that fails opens the breaker again; a probe never reported frees the way for
    another probe after the probe timeout."""
    limiter = await make_limiter(breaker_open_ms=5_000, probe_timeout_ms=2_000)
    await _fail(limiter, portal, 9, manual_clock, step=0)
    manual_clock.advance(5_000)
    probe = await limiter.acquire(portal, "contact")
    effect = await limiter.report(portal, Outcome.FAILED, acquired_at_ms=probe.at_ms)
    assert effect.event is LimiterEvent.BREAKER_REOPENED
    assert (await limiter.acquire(portal, "contact")).wait_ms == 5_000
    manual_clock.advance(5_000)
    assert (await limiter.acquire(portal, "contact")).probe  # never reported
    manual_clock.advance(2_000)
    assert (await limiter.acquire(portal, "contact")).probe


async def test_late_answers_from_before_the_trip_change_nothing(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Requests admitted before the breaker opened and answered afterwards neither extend the
    open time (failures) nor close the half-open breaker (successes)."""
    limiter = await make_limiter(breaker_open_ms=5_000)
    early = await limiter.acquire(portal, "contact")
    await _fail(limiter, portal, 9, manual_clock, step=0)
    late = await limiter.report(portal, Outcome.FAILED, acquired_at_ms=early.at_ms)
    assert late.event is LimiterEvent.NOTHING
    manual_clock.advance(5_000)
    probe = await limiter.acquire(portal, "contact")
    assert probe.probe
    stale = await limiter.report(portal, Outcome.OK, acquired_at_ms=early.at_ms)
    assert stale.event is LimiterEvent.NOTHING
    assert (await limiter.state(portal)).breaker is BreakerState.HALF_OPEN


async def test_a_new_process_learning_the_time_zone_makes_a_due_daily_reset(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Yesterday's usage is not carried into today when a process that starts after midnight
    learns the account's time zone before its first request: the due reset is made, not moved."""
    first = await make_limiter(daily_limit=2)
    for _ in range(2):
        assert (await first.acquire(portal, "contact")).allowed
    assert (await first.acquire(portal, "contact")).reason is Reason.DAILY
    manual_clock.advance(25 * 3600 * 1000)  # past the next midnight, in any zone
    restarted = await make_limiter(daily_limit=2)
    await restarted.set_time_zone(portal, "America/New_York")
    assert (await restarted.state(portal)).daily_used == 0
    assert (await restarted.acquire(portal, "contact")).allowed
