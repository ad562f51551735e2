"""Bounded concurrency shared by every shard a worker runs: at most N jobs held at once.

A job holds its slot from the moment it is read until its settlement is written, so the bound
covers jobs waiting to be settled too. Waiters are served first come, first served, so one busy
shard cannot starve the others of slots.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    """A fair counting limit that hands out as many free slots as are available, up to a maximum
    per request."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("total must be >= 1")
        self.total = total
        self._free = total
        self._waiters: deque[tuple[asyncio.Future[int], int]] = deque()

    @property
    def free(self) -> int:
        return self._free

    @property
    def used(self) -> int:
        return self.total - self._free

    async def take(self, most: int) -> int:
        """Wait for a turn and at least one free slot, then take up to ``most`` of them."""
        if self._free > 0 and not self._waiters:
            return self._grant(most)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append((future, most))
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.give_back(future.result())
            raise

    def _grant(self, most: int) -> int:
        taken = min(most, self._free)
        self._free -= taken
        return taken

    def resize(self, total: int) -> None:
        """Make the limit ``total``. Slots already taken stay taken: after a shrink, none is
        handed out until enough of them have been given back."""
        if total < 1:
            raise ValueError("total must be >= 1")
        self._free += total - self.total
        self.total = total
        self._serve()

    def give_back(self, count: int) -> None:
        if count <= 0:
            return
        self._free = min(self.total, self._free + count)
        self._serve()

    def _serve(self) -> None:
        while self._waiters and self._free > 0:
            future, most = self._waiters.popleft()
            if not future.done():
                future.set_result(self._grant(most))
