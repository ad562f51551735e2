"""Time as an argument: every part of the queue asks a :class:`Clock` for epoch milliseconds.

Scripts receive the time in ARGV, never from the server, so tests can step a :class:`ManualClock`
instead of sleeping. Waiting (how long a loop sleeps between passes) still uses real time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of the current time in epoch milliseconds."""

    def now_ms(self) -> int: ...


class SystemClock:
    """The wall clock."""

    __slots__ = ()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to; for tests and dry runs."""

    __slots__ = ("_now",)

    def __init__(self, start_ms: int = 1_767_600_000_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        """Move forward by ``ms`` (never backwards) and return the new time."""
        if ms < 0:
            raise ValueError("a clock only moves forward")
        self._now += ms
        return self._now

    def set(self, now_ms: int) -> None:
        if now_ms < self._now:
            raise ValueError("a clock only moves forward")
        self._now = now_ms
