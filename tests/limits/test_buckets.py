"""Per-type token buckets: costs, refill, independence, and refusals of impossible requests."""

from __future__ import annotations

import pytest

from core.clock import ManualClock
from limits import CostTooLarge, Reason, UnknownKind
from tests.limits.conftest import LimiterFactory


async def test_short_bucket_refuses_until_refilled(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A note bucket of 200 units refilled per 60 s: after two 100-unit batches the third is
    refused with reason ``bucket`` and the wait for 100 units to refill (30 s)."""
    limiter = await make_limiter(buckets={"note": 200})
    assert (await limiter.acquire(portal, "note", cost=100)).allowed
    assert (await limiter.acquire(portal, "note", cost=100)).allowed
    refused = await limiter.acquire(portal, "note", cost=100)
    assert refused.reason is Reason.BUCKET
    assert refused.wait_ms == 30_000
    manual_clock.advance(29_999)
    assert not (await limiter.acquire(portal, "note", cost=100)).allowed
    manual_clock.advance(1)
    assert (await limiter.acquire(portal, "note", cost=100)).allowed


async def test_an_empty_bucket_does_not_block_other_types(
    make_limiter: LimiterFactory, portal: str
) -> None:
    """Notes that spent their bucket leave contacts, calls and searches unaffected."""
    limiter = await make_limiter(buckets={"note": 100})
    assert (await limiter.acquire(portal, "note", cost=100)).allowed
    assert (await limiter.acquire(portal, "note")).reason is Reason.BUCKET
    for kind in ("contact", "call", "search", "other"):
        assert (await limiter.acquire(portal, kind)).allowed


async def test_refill_never_exceeds_capacity(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """After an hour idle a 300-unit bucket holds 300 units, not more."""
    limiter = await make_limiter(buckets={"call": 300})
    assert (await limiter.acquire(portal, "call", cost=100)).allowed
    manual_clock.advance(3_600_000)
    for _ in range(3):
        assert (await limiter.acquire(portal, "call", cost=100)).allowed
    assert (await limiter.acquire(portal, "call", cost=1)).reason is Reason.BUCKET


async def test_refused_requests_take_nothing(make_limiter: LimiterFactory, portal: str) -> None:
    """A request refused by the window leaves its bucket and the daily count untouched."""
    limiter = await make_limiter(window_limit=1)
    assert (await limiter.acquire(portal, "deal", cost=100)).allowed
    before = await limiter.state(portal)
    for _ in range(5):
        assert not (await limiter.acquire(portal, "deal", cost=100)).allowed
    after = await limiter.state(portal)
    assert after.buckets["deal"] == before.buckets["deal"]
    assert after.daily_used == before.daily_used == 1


async def test_impossible_requests_are_errors(make_limiter: LimiterFactory, portal: str) -> None:
    """A cost above the bucket's capacity (it could never pass), a cost below 1 and an unknown
    kind raise instead of waiting forever."""
    limiter = await make_limiter(buckets={"task": 150})
    with pytest.raises(CostTooLarge, match="1 to 150"):
        await limiter.acquire(portal, "task", cost=151)
    with pytest.raises(CostTooLarge):
        await limiter.acquire(portal, "task", cost=0)
    with pytest.raises(UnknownKind, match="contacts"):
        await limiter.acquire(portal, "contacts")
