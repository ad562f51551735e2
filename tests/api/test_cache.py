"""The API's small TTL cache: expiry, size bound, and single-flight loads."""

from __future__ import annotations

import asyncio

import pytest

from api.cache import TtlCache


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl() -> None:
    """An entry is returned until ttl seconds have passed, then forgotten."""
    ticks = Ticks()
    cache: TtlCache[str, int] = TtlCache(1.0, clock=ticks)
    cache.put("a", 1)
    ticks.now += 0.99
    assert cache.get("a") == 1
    ticks.now += 0.01
    assert cache.get("a") is None


def test_the_oldest_entries_leave_first_past_the_size() -> None:
    """Past its size the cache drops the entries inserted first; drop() removes one at once."""
    cache: TtlCache[int, int] = TtlCache(60.0, size=2)
    for key in range(3):
        cache.put(key, key)
    assert [cache.get(k) for k in range(3)] == [None, 1, 2]
    cache.drop(2)
    assert cache.get(2) is None


async def test_concurrent_misses_share_one_load() -> None:
    """Fifty callers missing the same key cause one load; a None result is not kept; a failed
    load raises for every caller and leaves nothing behind."""
    cache: TtlCache[str, str] = TtlCache(60.0)
    loads = 0
    release = asyncio.Event()

    async def loader() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return "row"

    waiting = [asyncio.create_task(cache.load("k", loader)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == ["row"] * 50
    assert loads == 1

    async def nothing() -> str | None:
        return None

    assert await cache.load("missing", nothing) is None
    assert cache.get("missing") is None

    async def broken() -> str:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await cache.load("bad", broken)
    assert await cache.load("bad", loader) == "row"
