"""Time as an argument: the one :class:`Clock` every package asks for the time and waits on.

A clock answers the current time in epoch milliseconds and sleeps for a number of its
milliseconds. Lua scripts receive the time in ARGV, never from the server, so whoever builds the
queue, the limiter, the HubSpot client or the engine decides what time it is:

- :class:`SystemClock` is the wall clock (the default everywhere);
- :class:`ManualClock` moves only when a test steps it; its :meth:`~ManualClock.sleep_ms`
  returns once the clock has been stepped far enough, so a loop that waits on the clock runs
  exactly when the test lets time pass, and no test sleeps for real to see time go by.

Waits that are about other processes or servers (a Redis that is away, an idle stream read) are
real time by nature and do not go through a clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

# 2026-01-05 09:00:00 UTC, a Monday morning: where a manual clock starts unless told otherwise.
MANUAL_START_MS = 1_767_603_600_000


class Clock(Protocol):
    """A source of the current time in epoch milliseconds that can also be waited on."""

    def now_ms(self) -> int:
        """The current time, epoch milliseconds."""
        ...

    async def sleep_ms(self, ms: int) -> None:
        """Return once ``ms`` milliseconds of this clock have passed (at once when ``ms <= 0``,
        after letting other tasks run)."""
        ...


class SystemClock:
    """The wall clock; sleeping is ``asyncio.sleep``."""

    __slots__ = ()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep_ms(self, ms: int) -> None:
        await asyncio.sleep(max(ms, 0) / 1000)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to, for tests and dry runs.

    It never goes backwards. Tasks sleeping on it wake when :meth:`advance` or :meth:`set` moves
    it to or past their deadline, in deadline order; :attr:`sleepers` says how many are still
    waiting, so a test can tell that a loop has finished its pass and gone back to sleep.
    Use it from one event loop.
    """

    __slots__ = ("_now", "_order", "_sleepers")

    def __init__(self, start_ms: int = MANUAL_START_MS) -> None:
        self._now = start_ms
        self._order = itertools.count()
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        """Move forward by ``ms`` (never backwards), wake whoever is due, return the new time."""
        if ms < 0:
            raise ValueError("a clock only moves forward")
        self._now += ms
        self._wake()
        return self._now

    def set(self, now_ms: int) -> None:
        """Move to ``now_ms`` (not before the current time) and wake whoever is due."""
        if now_ms < self._now:
            raise ValueError("a clock only moves forward")
        self._now = now_ms
        self._wake()

    @property
    def sleepers(self) -> int:
        """How many tasks are sleeping on this clock and not yet due."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    async def sleep_ms(self, ms: int) -> None:
        if ms <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + ms, next(self._order), future))
        await future  # a cancelled sleeper's future is cancelled too; _wake skips it

    def _wake(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done() and not future.get_loop().is_closed():
                future.set_result(None)

    def __repr__(self) -> str:
        return f"ManualClock(now_ms={self._now})"
