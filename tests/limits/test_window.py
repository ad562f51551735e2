"""The rolling burst window, the search window and the daily budget."""

from __future__ import annotations

import asyncio
import random

from core.clock import ManualClock
from limits import Outcome, Reason, Usage
from tests.limits.conftest import LimiterFactory


async def test_full_window_refuses_with_the_exact_wait(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """With limit 5, the sixth request in the window is refused with reason ``window`` and a wait
    that ends exactly when the oldest admission leaves the window (10 s + 500 ms margin)."""
    limiter = await make_limiter(window_limit=5)
    for _ in range(5):
        assert (await limiter.acquire(portal, "contact")).allowed
        manual_clock.advance(100)
    refused = await limiter.acquire(portal, "contact")
    assert not refused.allowed
    assert refused.reason is Reason.WINDOW
    assert refused.wait_ms == 10_500 - 500
    manual_clock.advance(refused.wait_ms - 1)
    assert not (await limiter.acquire(portal, "contact")).allowed
    manual_clock.advance(1)
    assert (await limiter.acquire(portal, "contact")).allowed


async def test_no_span_of_the_window_ever_holds_more_than_the_limit(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Over random request timings (a seeded RNG, 400 requests), the admitted requests never
    number more than the limit inside any window-long span, and each refusal's wait is honest:
    a request made exactly after the wait is admitted."""
    rng = random.Random(7)
    limit = 6
    limiter = await make_limiter(window_limit=limit, window_ms=1_000, window_margin_ms=50)
    admitted: list[int] = []
    for _ in range(400):
        manual_clock.advance(rng.choice([0, 0, 1, 5, 40, 130, 400]))
        decision = await limiter.acquire(portal, "note")
        if decision.allowed:
            admitted.append(manual_clock.now_ms())
            continue
        manual_clock.advance(decision.wait_ms)
        assert (await limiter.acquire(portal, "note")).allowed
        admitted.append(manual_clock.now_ms())
    for moment in admitted:
        assert sum(moment - 1_050 < other <= moment for other in admitted) <= limit
    assert len(admitted) == 400


async def test_concurrent_acquires_admit_exactly_the_limit(
    make_limiter: LimiterFactory, portal: str
) -> None:
    """Fifty acquires racing at the same instant admit exactly the limit (the script is atomic)."""
    limiter = await make_limiter(window_limit=20)
    decisions = await asyncio.gather(*(limiter.acquire(portal, "task") for _ in range(50)))
    assert sum(d.allowed for d in decisions) == 20


async def test_a_batch_takes_one_window_slot_and_n_bucket_units(
    make_limiter: LimiterFactory, portal: str
) -> None:
    """A 100-record batch costs one request in the window and 100 units of its type's bucket."""
    limiter = await make_limiter(window_limit=3)
    assert (await limiter.acquire(portal, "contact", cost=100)).allowed
    state = await limiter.state(portal)
    assert state.window_used == 1
    assert state.buckets["contact"].tokens == state.buckets["contact"].capacity - 100
    assert state.buckets["note"].tokens == state.buckets["note"].capacity


async def test_hubspot_reported_limit_caps_ours(make_limiter: LimiterFactory, portal: str) -> None:
    """When HubSpot's X-HubSpot-RateLimit-Max is below the configured limit, the window
    enforces HubSpot's number from then on."""
    limiter = await make_limiter(window_limit=100)
    first = await limiter.acquire(portal, "contact")
    await limiter.report(
        portal,
        Outcome.OK,
        usage=Usage(window_max=3, window_remaining=2),
        acquired_at_ms=first.at_ms,
    )
    assert (await limiter.acquire(portal, "contact")).allowed
    assert (await limiter.acquire(portal, "contact")).allowed
    refused = await limiter.acquire(portal, "contact")
    assert refused.reason is Reason.WINDOW
    assert (await limiter.state(portal)).window_limit == 3


async def test_requests_hubspot_counted_but_we_did_not_are_added(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """When the Remaining header shows more requests in HubSpot's window than our log holds
    (someone else uses the token), the difference is added to our window."""
    limiter = await make_limiter(window_limit=10)
    decision = await limiter.acquire(portal, "contact")
    manual_clock.advance(50)
    await limiter.report(
        portal,
        Outcome.OK,
        usage=Usage(window_max=10, window_remaining=4),
        acquired_at_ms=decision.at_ms,
    )
    assert (await limiter.state(portal)).window_used == 6


async def test_our_own_traffic_read_back_from_headers_adds_nothing(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Headers that count exactly our own requests — each answered 300 ms after admission, the
    window rolling all the while — never add phantom requests, so throughput is not lost."""
    limiter = await make_limiter(window_limit=10, window_ms=1_000, window_margin_ms=50)
    arrivals: list[int] = []
    pending: list[tuple[int, int]] = []
    for _ in range(120):
        decision = await limiter.acquire(portal, "call")
        if decision.allowed:
            arrivals.append(decision.at_ms + 5)
            used = sum(decision.at_ms + 5 - 1_000 < a <= decision.at_ms + 5 for a in arrivals)
            pending.append((decision.at_ms, used))
        manual_clock.advance(37)
        while pending and pending[0][0] + 300 <= manual_clock.now_ms():
            at, used = pending.pop(0)
            await limiter.report(
                portal, Outcome.OK, usage=Usage(window_max=10, window_remaining=10 - used),
                acquired_at_ms=at,
            )  # fmt: skip
    state = await limiter.state(portal)
    mine = sum(manual_clock.now_ms() - 1_050 < a - 5 for a in arrivals)
    assert state.window_used == mine


async def test_search_has_its_own_window(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Searches are limited per second on their own and leave the burst window untouched."""
    limiter = await make_limiter(window_limit=2, search_limit=3)
    for _ in range(3):
        assert (await limiter.acquire(portal, "search")).allowed
    refused = await limiter.acquire(portal, "search")
    assert refused.reason is Reason.WINDOW
    assert refused.wait_ms == 1_000
    assert (await limiter.acquire(portal, "contact")).allowed
    assert (await limiter.acquire(portal, "other")).allowed
    manual_clock.advance(1_000)
    assert (await limiter.acquire(portal, "search")).allowed


async def test_daily_budget_refuses_until_midnight_in_the_accounts_zone(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """With a daily limit of 3, the fourth request waits for the next midnight in the
    account's time zone (New York: 05:00 UTC), with reason ``daily``; after it, requests pass."""
    limiter = await make_limiter(window_limit=100, daily_limit=3, timezone="America/New_York")
    for _ in range(3):
        assert (await limiter.acquire(portal, "deal")).allowed
    refused = await limiter.acquire(portal, "deal")
    assert refused.reason is Reason.DAILY
    # Now is 2026-01-05 09:00 UTC = 04:00 in New York; midnight there is 2026-01-06 05:00 UTC.
    assert refused.wait_ms == 20 * 3_600_000
    manual_clock.advance(refused.wait_ms)
    assert (await limiter.acquire(portal, "deal")).allowed


async def test_requests_overtaking_each_other_add_nothing(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A request admitted later but reaching HubSpot first is in HubSpot's count for the
    earlier one: that is not foreign traffic, and nothing is added to the window."""
    limiter = await make_limiter(window_limit=10)
    first = await limiter.acquire(portal, "contact")
    manual_clock.advance(3)
    second = await limiter.acquire(portal, "contact")
    manual_clock.advance(40)
    for decision, remaining in ((second, 9), (first, 8)):
        await limiter.report(
            portal,
            Outcome.OK,
            usage=Usage(window_max=10, window_remaining=remaining),
            acquired_at_ms=decision.at_ms,
        )
    assert (await limiter.state(portal)).window_used == 2
