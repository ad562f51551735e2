"""A small time-bounded cache for the hot read paths (API keys, simulation rows).

Polling clients read the same few rows many times a second; each read would otherwise be a
database round trip. Entries live ``ttl_s`` seconds (on the monotonic clock), the cache holds at
most ``size`` of them (the oldest inserted go first), and writers made through this process
replace or drop their entry at once. What another process changes is seen within ``ttl_s``.

:meth:`load` is single-flight: when an entry is missing, concurrent callers share one load, so an
entry expiring under load costs one database read, not one per waiting request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self, ttl_s: float, size: int = 10_000, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_s
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self._ttl, value)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)

    async def load(self, key: K, loader: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else ``loader()``'s (kept unless None); one load per key at once."""
        value = self.get(key)
        if value is not None:
            return value
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters, if any, re-raise it
            raise
        else:
            future.set_result(value)
            if value is not None:
                self.put(key, value)
            return value
        finally:
            del self._loading[key]
