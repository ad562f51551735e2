"""A settable epoch-milliseconds clock: tests step it instead of sleeping."""

from __future__ import annotations

# 2026-01-05 09:00:00 UTC, a Monday.
START_MS = 1_767_603_600_000


class MsClock:
    """Callable returning the current fake time in epoch ms."""

    def __init__(self, start_ms: int = START_MS) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now
