"""Closing the coalescer at shutdown: batch calls in flight end cancelled (cut by us, so the
HubSpot client reports nothing to the limiter), and nothing more is sent."""

from __future__ import annotations

import asyncio

import pytest

from engine.runtime.coalesce import Coalescer, Hold


async def test_close_cancels_calls_in_flight_and_sends_nothing_more() -> None:
    """A call still waiting on its answer is cancelled by close(), its callers see the
    cancellation (not an error to count), a batch still lingering is never sent, and a submit
    after close is refused."""
    coalescer: Coalescer[int, str] = Coalescer(linger_ms=10, size=2, max_wait_ms=60_000)
    sent: list[list[int]] = []
    cut = asyncio.Event()

    async def slow_send(items: list[int]) -> list[str]:
        sent.append(items)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cut.set()
            raise
        return [str(item) for item in items]

    in_flight = asyncio.create_task(coalescer.submit("k", [1, 2], slow_send))  # full: sent now
    lingering = asyncio.create_task(coalescer.submit("other", [3], slow_send))
    for _ in range(5):  # the callers join their batches, the full one's call starts
        await asyncio.sleep(0)
    assert sent == [[1, 2]]
    await coalescer.close()
    assert cut.is_set()
    for task in (in_flight, lingering):
        with pytest.raises(asyncio.CancelledError):
            await task
    await asyncio.sleep(0.05)  # past the linger: the open batch must not go out now
    assert sent == [[1, 2]]
    with pytest.raises(asyncio.CancelledError):
        await coalescer.submit("k", [4], slow_send)


async def test_a_held_call_joins_the_next_batch_and_each_item_goes_once() -> None:
    """A call the server cannot take for a moment (Hold) is not failed: its items wait, then go
    out with what gathered meanwhile. A caller whose items spanned a held call and a call that
    went through gets each result once, and no item is ever sent twice."""
    coalescer: Coalescer[int, str] = Coalescer(
        linger_ms=50,
        size=3,
        max_wait_ms=60_000,
        hold_max_ms=10_000,
        hold_max_items=10,
        expired=lambda items, wait_ms: ["expired" for _ in items],
    )
    sent: list[list[int]] = []
    refusals = [True]

    async def send(items: list[int]) -> list[str]:
        if refusals and items[0] == 1:
            refusals.pop()
            raise Hold(300)
        sent.append(items)
        return [f"ok{item}" for item in items]

    first = asyncio.create_task(coalescer.submit("k", [1, 2, 3, 4], send))  # [1,2,3] held, [4]
    for _ in range(3):
        await asyncio.sleep(0)
    second = asyncio.create_task(coalescer.submit("k", [5], send))  # joins [4]
    assert await first == ["ok1", "ok2", "ok3", "ok4"]
    assert await second == ["ok5"]
    assert sorted(item for call in sent for item in call) == [1, 2, 3, 4, 5]  # each once
    assert sent == [[4, 5], [1, 2, 3]]  # the lingering batch went while the held one waited


async def test_a_call_held_too_long_gives_the_expired_results() -> None:
    """Past ``hold_max_ms`` from the first refusal, the held items get what ``expired`` says
    (the handlers hand them back to the queue) instead of being sent."""
    coalescer: Coalescer[int, str] = Coalescer(
        linger_ms=5,
        size=10,
        hold_max_ms=50,
        hold_max_items=10,
        expired=lambda items, wait_ms: [f"later{item}:{wait_ms}" for item in items],
    )
    calls = 0

    async def always_full(items: list[int]) -> list[str]:
        nonlocal calls
        calls += 1
        raise Hold(30)

    assert await coalescer.submit("k", [1, 2], always_full) == ["later1:30", "later2:30"]
    assert calls == 2  # held once (30 ms), then 60 ms would pass the 50 ms allowed


async def test_no_more_than_hold_max_items_of_a_key_wait_at_once() -> None:
    """Refused work of one key beyond ``hold_max_items`` is not held (it would take the job
    slots other keys' work needs): it gets the expired results at once."""
    coalescer: Coalescer[int, str] = Coalescer(
        linger_ms=5,
        size=3,
        hold_max_ms=60_000,
        hold_max_items=3,
        expired=lambda items, wait_ms: ["back" for _ in items],
    )
    refused = 2

    async def send(items: list[int]) -> list[str]:
        nonlocal refused
        if refused:
            refused -= 1
            raise Hold(200)
        return [f"ok{item}" for item in items]

    first = coalescer.submit("k", [1, 2, 3], send)  # two callers, two full calls, both refused
    second = coalescer.submit("k", [4, 5, 6], send)
    results = await asyncio.gather(first, second)
    # the second refusal found three jobs of the key already waiting: its jobs went back
    assert sorted(results) == [["back", "back", "back"], ["ok1", "ok2", "ok3"]]
