"""Resizing a worker's job slots while jobs are held: a daemon grows them as simulations start
and shrinks them as they end (engine/runtime/engine.py), without dropping or double-granting."""

from __future__ import annotations

import asyncio

import pytest

from streams.slots import Slots


async def test_growing_serves_the_waiting_reader_at_once() -> None:
    slots = Slots(2)
    assert await slots.take(2) == 2
    waiting = asyncio.create_task(slots.take(5))
    await asyncio.sleep(0)
    assert not waiting.done()  # every slot is held
    slots.resize(6)
    assert await asyncio.wait_for(waiting, 1) == 4  # the four new slots, not more
    assert slots.used == 6


async def test_shrinking_below_what_is_held_grants_nothing_until_enough_comes_back() -> None:
    slots = Slots(10)
    assert await slots.take(8) == 8
    slots.resize(4)  # 8 held, 4 allowed: 4 must come back before anything is handed out
    waiting = asyncio.create_task(slots.take(3))
    slots.give_back(4)
    await asyncio.sleep(0)
    assert not waiting.done()
    slots.give_back(1)
    assert await asyncio.wait_for(waiting, 1) == 1
    assert slots.used == 4


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="total must be >= 1"):
        Slots(3).resize(0)
