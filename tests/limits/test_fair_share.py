"""Fair share: simulations on one account split its burst window evenly while they all want more.

The contests run on the fake clock: each caller asks again a round trip (1 to 40 ms, seeded)
after it is admitted, and after the named wait when refused — as the job runtime does — so
every caller always wants room.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from redis.asyncio import Redis

from core.clock import ManualClock
from engine.crm import HubSpotTransport, ObjectInput, ObjectType, PortalClient, Throttled
from limits import LimitConfig, Limiter, Reason
from sandbox import Sandbox
from tests.limits.conftest import LimiterFactory
from tests.support.sandboxes import PORTAL, TOKEN

LIMIT = 20
WINDOW_MS = 1_000


async def contend(
    limiter: Limiter,
    portal: str,
    clock: ManualClock,
    callers: dict[str, int],
    *,
    windows: int,
    named: bool = True,
    seed: int = 11,
) -> Counter[str]:
    """Run ``callers`` (sender → concurrent callers) for ``windows`` windows; the admissions of
    each sender after the first window (which the first asker may take alone, before it knows
    of the others). Callers due at one instant ask in a seeded random order."""
    rng = random.Random(seed)
    start = clock.now_ms()
    due = [(start, name) for name, count in callers.items() for _ in range(count)]
    admitted: Counter[str] = Counter()
    while True:
        now = min(at for at, _ in due)
        if now >= start + windows * WINDOW_MS:
            return admitted
        clock.advance(now - clock.now_ms())
        ready = [caller for caller in due if caller[0] == now]
        due = [caller for caller in due if caller[0] != now]
        rng.shuffle(ready)
        for _, name in ready:
            decision = await limiter.acquire(portal, "other", sender=name if named else None)
            if decision.allowed:
                if now >= start + WINDOW_MS:
                    admitted[name] += 1
                due.append((now + rng.randint(1, 40), name))
            else:
                due.append((now + decision.wait_ms, name))


async def test_eight_callers_of_one_simulation_share_evenly_with_one_of_another(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """Simulation A asks with 8 concurrent callers, B with one, both always wanting: over eight
    windows each gets half of the admissions, within 10 %, and the window stays full."""
    limiter = await make_limiter(window_limit=LIMIT, window_ms=WINDOW_MS, window_margin_ms=0)
    admitted = await contend(limiter, portal, manual_clock, {"A": 8, "B": 1}, windows=9)
    total = admitted["A"] + admitted["B"]
    assert total == 8 * LIMIT
    for name in ("A", "B"):
        assert abs(admitted[name] - total / 2) <= 0.1 * total / 2, admitted


async def test_without_naming_senders_the_single_caller_starves(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """The same contest with requests that name no sender (first come, first served, as before
    the share): B's one caller gets about one admission in nine, far below half."""
    limiter = await make_limiter(window_limit=LIMIT, window_ms=WINDOW_MS, window_margin_ms=0)
    admitted = await contend(
        limiter, portal, manual_clock, {"A": 8, "B": 1}, windows=9, named=False
    )
    total = admitted["A"] + admitted["B"]
    assert total == 8 * LIMIT
    assert admitted["B"] < 0.25 * total, admitted


async def test_a_lone_sender_gets_the_whole_window(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """One simulation alone, however many callers, takes every slot of every window; and a
    simulation that stopped asking more than a window ago reserves nothing."""
    limiter = await make_limiter(window_limit=LIMIT, window_ms=WINDOW_MS, window_margin_ms=0)
    assert (await limiter.acquire(portal, "other", sender="idle")).allowed
    manual_clock.advance(3 * WINDOW_MS)
    admitted = await contend(limiter, portal, manual_clock, {"A": 8}, windows=5)
    assert admitted["A"] == 4 * LIMIT
    state = await limiter.state(portal)
    assert (state.window_used, state.window_senders, state.window_share) == (LIMIT, 1, LIMIT)


async def test_a_served_sender_leaves_the_rest_to_the_others(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """A small simulation whose few requests are all admitted wants no more room: a large one
    beside it takes the rest of the window, beyond its half."""
    limiter = await make_limiter(window_limit=LIMIT, window_ms=WINDOW_MS, window_margin_ms=0)
    for _ in range(3):
        assert (await limiter.acquire(portal, "other", sender="small")).allowed
    for _ in range(LIMIT - 3):
        assert (await limiter.acquire(portal, "other", sender="large")).allowed
    refused = await limiter.acquire(portal, "other", sender="large")
    assert refused.reason is Reason.WINDOW
    state = await limiter.state(portal)
    assert (state.window_senders, state.window_wanting, state.window_share) == (2, 1, LIMIT // 2)


async def test_a_sender_over_its_share_leaves_the_free_slot_to_one_that_wants_room(
    make_limiter: LimiterFactory, portal: str, manual_clock: ManualClock
) -> None:
    """While B wants no more, A may go past its share (2 of 4). Once B has been refused room,
    the next free slot is B's: A asks first and is refused with reason ``share``, told to wait
    until enough of its own admissions leave to bring it under its share; B then gets it."""
    limiter = await make_limiter(window_limit=4, window_ms=WINDOW_MS, window_margin_ms=0)
    assert (await limiter.acquire(portal, "other", sender="B")).allowed  # at 0
    for _ in range(3):  # at 10, 20, 30
        manual_clock.advance(10)
        assert (await limiter.acquire(portal, "other", sender="A")).allowed
    manual_clock.advance(10)
    assert (await limiter.acquire(portal, "other", sender="B")).reason is Reason.WINDOW
    manual_clock.advance(WINDOW_MS - 40)  # B's admission has left: one slot is free
    refused = await limiter.acquire(portal, "other", sender="A")
    assert (refused.reason, refused.wait_ms) == (Reason.SHARE, 20)  # A's second leaves at 1020
    assert (await limiter.acquire(portal, "other", sender="B")).allowed
    manual_clock.advance(refused.wait_ms)
    assert (await limiter.acquire(portal, "other", sender="A")).allowed


async def test_simulations_clients_name_their_sender_to_the_limiter(
    sandbox: Sandbox, redis: Redis, manual_clock: ManualClock
) -> None:
    """Through the HubSpot client: each simulation's PortalClient names it, so the one at its
    share is refused with Throttled(reason 'share') before anything is sent, while the other
    one's request goes through."""
    limiter = Limiter(redis, LimitConfig(window_limit=4), clock=manual_clock)
    await limiter.load()
    async with HubSpotTransport(sandbox.url, limiter=limiter, clock=manual_clock) as transport:
        large = PortalClient(transport, PORTAL, TOKEN, sender="1")
        small = PortalClient(transport, PORTAL, TOKEN, sender="2")
        await small.create(ObjectType.CONTACT, ObjectInput({"email": "s0@example.com"}))
        for n in range(3):
            manual_clock.advance(10)
            await large.create(ObjectType.CONTACT, ObjectInput({"email": f"l{n}@example.com"}))
        with pytest.raises(Throttled) as refused:
            await small.create(ObjectType.CONTACT, ObjectInput({"email": "s1@example.com"}))
        assert refused.value.reason == Reason.WINDOW
        manual_clock.advance((await limiter.state(PORTAL)).window_ms - 30)
        with pytest.raises(Throttled) as refused:
            await large.create(ObjectType.CONTACT, ObjectInput({"email": "l3@example.com"}))
        assert refused.value.reason == Reason.SHARE
        assert (await small.create(ObjectType.CONTACT, ObjectInput({"email": "s1@example.com"}))).ok
    assert sandbox.stats().requests == 5
