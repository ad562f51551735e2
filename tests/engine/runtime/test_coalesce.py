"""Closing the coalescer at shutdown: batch calls in flight end cancelled (cut by us, so the
HubSpot client reports nothing to the limiter), and nothing more is sent."""

from __future__ import annotations

import asyncio

import pytest

from engine.runtime.coalesce import Coalescer


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
