"""The burst window's safety margin, learnt from HubSpot's answers (cap 500 ms, floor 100 ms).

Traffic runs on the fake clock with a 1 s window of 10: one request every 200 ms, each answered
a round trip after its admission with headers that count what HubSpot saw (our own requests,
unless a test adds someone else's).
"""

from __future__ import annotations

from core.clock import ManualClock
from limits import LimitConfig, Limiter, Outcome, Policy, Reason, Usage
from tests.limits.conftest import LimiterFactory

LIMIT = 10
WINDOW_MS = 1_000
CAP_MS = 500
FLOOR_MS = 100


async def make(make_limiter: LimiterFactory) -> Limiter:
    return await make_limiter(window_limit=LIMIT, window_ms=WINDOW_MS, window_margin_ms=CAP_MS)


class Traffic:
    """Requests to one account, one every 200 ms, each answered a round trip after admission
    with headers counting our requests of HubSpot's last window plus any foreign ones."""

    def __init__(self, limiter: Limiter, portal: str, clock: ManualClock) -> None:
        self.limiter, self.portal, self.clock = limiter, portal, clock
        self.sent: list[int] = []

    async def run(self, requests: int, *, round_trip_ms: int = 5, foreign: int = 0) -> int:
        """Send ``requests``; the margin after them."""
        for _ in range(requests):
            decision = await self.limiter.acquire(self.portal, "contact")
            assert decision.allowed
            self.sent.append(decision.at_ms)
            self.clock.advance(round_trip_ms)
            seen = sum(decision.at_ms - WINDOW_MS < at <= decision.at_ms for at in self.sent)
            await self.limiter.report(
                self.portal,
                Outcome.OK,
                usage=Usage(window_max=LIMIT, window_remaining=LIMIT - seen - foreign),
                acquired_at_ms=decision.at_ms,
            )
            self.clock.advance(max(0, 200 - round_trip_ms))
        return (await self.limiter.state(self.portal)).window_margin_ms


async def test_answers_that_agree_shrink_the_margin_to_its_floor(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A fresh account is held to the cap (10 s + 500 ms); after HubSpot's counts have agreed
    with ours for a while the margin is down to 100 ms, and a full window frees 400 ms sooner."""
    limiter = await make(make_limiter)
    traffic = Traffic(limiter, portal, manual_clock)
    assert (await limiter.state(portal)).window_margin_ms == CAP_MS
    assert await traffic.run(5) == CAP_MS - 5 * 10  # 10 ms an answer …
    assert await traffic.run(60) == FLOOR_MS  # … to the floor
    state = await limiter.state(portal)
    assert state.window_ms == WINDOW_MS + FLOOR_MS
    assert state.to_json()["window"]["margin_ms"] == FLOOR_MS
    manual_clock.advance(WINDOW_MS + CAP_MS)
    first = manual_clock.now_ms()
    for _ in range(LIMIT):
        assert (await limiter.acquire(portal, "contact")).allowed
    refused = await limiter.acquire(portal, "contact")
    assert refused.reason is Reason.WINDOW
    assert refused.at_ms + refused.wait_ms == first + WINDOW_MS + FLOOR_MS


async def test_the_margin_is_shared_by_every_process(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """What one limiter learnt, another on the same Redis (another worker) enforces."""
    limiter = await make(make_limiter)
    traffic = Traffic(limiter, portal, manual_clock)
    await traffic.run(60)
    other = await make(make_limiter)
    assert (await other.state(portal)).window_margin_ms == FLOOR_MS


async def test_the_margin_never_undercuts_the_longest_recent_round_trip(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Answers taking 300 ms stop the margin at 300 ms, however well the counts agree; once
    the answers are fast again it stays there for the rest of that window and the next, then
    shrinks to the floor."""
    limiter = await make(make_limiter)
    traffic = Traffic(limiter, portal, manual_clock)
    assert await traffic.run(60, round_trip_ms=300) == 300
    assert await traffic.run(2) == 300
    assert await traffic.run(60) == FLOOR_MS


async def test_a_ten_secondly_429_puts_the_margin_back_at_the_cap(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A TEN_SECONDLY_ROLLING 429 sets the margin back to the cap at once; a search 429 (not
    the burst window's) leaves it alone."""
    limiter = await make(make_limiter)
    traffic = Traffic(limiter, portal, manual_clock)
    await traffic.run(60)
    decision = await limiter.acquire(portal, "search")
    await limiter.report(
        portal, Outcome.RATE_LIMITED, policy=Policy.SEARCH, acquired_at_ms=decision.at_ms,
        kind="search",
    )  # fmt: skip
    assert (await limiter.state(portal)).window_margin_ms == FLOOR_MS
    decision = await limiter.acquire(portal, "contact")
    await limiter.report(
        portal, Outcome.RATE_LIMITED, policy=Policy.WINDOW, acquired_at_ms=decision.at_ms
    )
    assert (await limiter.state(portal)).window_margin_ms == CAP_MS


async def test_headers_counting_more_than_us_put_the_margin_back_at_the_cap(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """When X-HubSpot-RateLimit-Remaining shows more requests than ours (another tool uses the
    token), the margin is back at the cap at once, and learnt again once counts agree."""
    limiter = await make(make_limiter)
    traffic = Traffic(limiter, portal, manual_clock)
    await traffic.run(60)
    assert await traffic.run(1, foreign=3) == CAP_MS
    assert await traffic.run(60) == FLOOR_MS


def test_the_floor_is_never_above_the_cap() -> None:
    """A cap below 100 ms (HUBSPOT_WINDOW_MARGIN_MS=50) is also the floor: nothing to learn."""
    assert LimitConfig(window_margin_ms=50).margin_floor_ms == 50
    assert LimitConfig().margin_floor_ms == FLOOR_MS
