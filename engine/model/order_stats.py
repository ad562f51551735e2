"""Random access to the sorted values of N iid uniforms, without drawing the other N − 1.

The ``poisson`` method needs the order statistics ``U_(0) < … < U_(N−1)`` of N iid uniforms on
[0, 1) (a Poisson process conditioned on N arrivals). They are defined by a recursive median split:
a node holds the indices ``[lo, hi)`` and knows its values lie in ``(a, b)``; its middle index
``m = (lo + hi) // 2`` has rank ``r = m − lo`` among ``n = hi − lo`` uniforms on ``(a, b)``, so

    U_(m) = a + (b − a) · Beta(r + 1, n − r)

drawn from an RNG keyed by ``(seed, lo, hi)`` alone. The left child holds ``[lo, m)`` on
``(a, U_(m))`` and the right child ``[m + 1, hi)`` on ``(U_(m), b)``. By the Markov property of
uniform order statistics this yields exactly their joint distribution. One value costs one walk
from the root: at most ⌈log2(N + 1)⌉ Beta draws. Values of large nodes (n ≥ 256) are memoised on
the instance, which bounds the memory to about 2N/256 floats and makes repeated look-ups cheap.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from engine.model.rng import Stream

_MEMO_MIN_SIZE = 256


class OrderStatistics:
    """The order statistics of ``total`` iid uniforms, reproducible from ``seed``."""

    __slots__ = ("_memo", "_stream", "total")

    def __init__(self, seed: int, total: int) -> None:
        self.total = total
        self._stream = Stream(seed, "order-statistics")
        self._memo: dict[tuple[int, int], float] = {}

    def _split(self, lo: int, hi: int, a: float, b: float) -> float:
        n = hi - lo
        if n >= _MEMO_MIN_SIZE:
            known = self._memo.get((lo, hi))
            if known is not None:
                return known
        mid = (lo + hi) // 2
        rank = mid - lo
        draw = random.Random(self._stream.bits(lo, hi)).betavariate(rank + 1, n - rank)
        value = a + (b - a) * draw
        # Keep the strict order even where floating point cannot separate neighbours.
        value = min(max(value, a), b)
        if n >= _MEMO_MIN_SIZE:
            self._memo[(lo, hi)] = value
        return value

    def value(self, index: int) -> float:
        """``U_(index)``, in ``[0, 1]``."""
        lo, hi, a, b = 0, self.total, 0.0, 1.0
        while True:
            mid = (lo + hi) // 2
            v = self._split(lo, hi, a, b)
            if index == mid:
                return v
            if index < mid:
                hi, b = mid, v
            else:
                lo, a = mid + 1, v

    def lower_bound(self, key: Callable[[float], int], target: int) -> int:
        """The first index whose ``key(value)`` is ≥ ``target`` (``total`` when none is).

        ``key`` must be non-decreasing (a profile's quantile → time map is).
        """
        lo, hi, a, b = 0, self.total, 0.0, 1.0
        found = self.total
        while lo < hi:
            mid = (lo + hi) // 2
            v = self._split(lo, hi, a, b)
            if key(v) >= target:
                found = mid
                hi, b = mid, v
            else:
                lo, a = mid + 1, v
        return found

    def values(self, start: int, stop: int) -> Iterator[float]:
        """``U_(start) … U_(stop − 1)`` in order, in O(stop − start + log N) draws."""
        # Entries are (lo, hi, a, b, None) for a node to visit, or (mid, 0, 0, 0, value) for a
        # value to emit once the node's left subtree has been emitted.
        stack: list[tuple[int, int, float, float, float | None]] = [(0, self.total, 0.0, 1.0, None)]
        while stack:
            lo, hi, a, b, ready = stack.pop()
            if ready is not None:
                yield ready
                continue
            if hi <= start or lo >= stop or lo >= hi:
                continue
            mid = (lo + hi) // 2
            v = self._split(lo, hi, a, b)
            stack.append((mid + 1, hi, v, b, None))
            if start <= mid < stop:
                stack.append((mid, 0, 0.0, 0.0, v))
            stack.append((lo, mid, a, v, None))
