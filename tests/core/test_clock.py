"""The one clock: the wall clock, and a manual clock whose sleepers wake only when it is stepped."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.clock import MANUAL_START_MS, Clock, ManualClock, SystemClock


def test_both_clocks_are_clocks() -> None:
    """Both implementations satisfy the protocol every package asks for."""
    clocks: list[Clock] = [SystemClock(), ManualClock()]
    assert all(isinstance(clock.now_ms(), int) for clock in clocks)


async def test_the_system_clock_is_the_wall_clock() -> None:
    """now_ms is epoch milliseconds, and sleep_ms sleeps about that long in real time."""
    clock = SystemClock()
    assert abs(clock.now_ms() - time.time() * 1000) < 1_000
    started = time.monotonic()
    await clock.sleep_ms(30)
    assert time.monotonic() - started >= 0.025
    await clock.sleep_ms(-5)  # a deadline already passed returns at once


def test_a_manual_clock_moves_only_forward_when_told() -> None:
    """It starts where told (a fixed Monday morning by default) and refuses to go back."""
    clock = ManualClock()
    assert clock.now_ms() == MANUAL_START_MS
    assert clock.advance(1_500) == MANUAL_START_MS + 1_500
    clock.set(MANUAL_START_MS + 2_000)
    assert clock.now_ms() == MANUAL_START_MS + 2_000
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="forward"):
        clock.set(MANUAL_START_MS)
    assert ManualClock(5).now_ms() == 5


async def test_manual_sleepers_wake_when_the_clock_reaches_their_deadline() -> None:
    """A task sleeping on a manual clock waits however long real time runs, until the clock is
    stepped to its deadline; sleepers wake in deadline order and are counted until then."""
    clock = ManualClock(0)
    woke: list[str] = []

    async def sleeper(name: str, ms: int) -> None:
        await clock.sleep_ms(ms)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper(n, ms)) for n, ms in (("late", 300), ("soon", 100))]
    await asyncio.sleep(0)
    assert clock.sleepers == 2
    clock.advance(99)
    await asyncio.sleep(0)
    assert woke == [] and clock.sleepers == 2
    clock.advance(1)
    await asyncio.sleep(0)
    assert woke == ["soon"] and clock.sleepers == 1
    clock.set(1_000)
    await asyncio.gather(*tasks)
    assert woke == ["soon", "late"] and clock.sleepers == 0


async def test_a_cancelled_manual_sleeper_is_forgotten() -> None:
    """Cancelling a sleeping task leaves no sleeper behind, and stepping past it is harmless."""
    clock = ManualClock(0)
    task = asyncio.create_task(clock.sleep_ms(50))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0
    clock.advance(100)
    await clock.sleep_ms(0)  # zero: returns without being stepped
