"""Bounded concurrency shared by every shard a worker runs: at most N jobs held at once.

A job holds its slot from the moment it is read until its settlement is written, so the bound
covers jobs waiting to be settled too.
"""

from __future__ import annotations

import asyncio


class Slots:
    """A counting limit that hands out as many free slots as are available, up to a maximum."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("total must be >= 1")
        self.total = total
        self._free = total
        self._changed = asyncio.Event()

    @property
    def free(self) -> int:
        return self._free

    @property
    def used(self) -> int:
        return self.total - self._free

    async def take(self, most: int) -> int:
        """Wait until at least one slot is free, then take up to ``most`` of them."""
        while self._free == 0:
            self._changed.clear()
            await self._changed.wait()
        taken = min(most, self._free)
        self._free -= taken
        return taken

    def give_back(self, count: int) -> None:
        if count <= 0:
            return
        self._free = min(self.total, self._free + count)
        self._changed.set()

    async def wait_idle(self) -> None:
        """Wait until every slot is free."""
        while self._free < self.total:
            self._changed.clear()
            await self._changed.wait()
