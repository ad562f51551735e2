"""The schedule: record ``i``'s simulated time as a pure function of ``(seed, i)``.

Record ``i`` of ``N`` is placed at the profile's time for the quantile

* ``p_i = (i + u_i)/N`` (stratified; ``u_i`` is the record's own uniform from the ``schedule``
  stream) for every method but ``poisson``: each 1/N quantile band holds exactly one record;
* ``p_i = U_(i)``, the ``i``-th order statistic of N iid uniforms, for ``poisson``
  (:mod:`engine.model.order_stats`): clumpier, as a Poisson process is.

Either way times are non-decreasing in ``i`` and lie in ``[start, end)``, so the records of any
time span form one contiguous index range, found in O(log N) evaluations of ``i ↦ t_i`` (a
gallop from the profile's CDF estimate for stratified methods, a walk down the order-statistics
tree for ``poisson``) — nothing is generated for the other records, and nothing is cached per
record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from engine.model.order_stats import OrderStatistics
from engine.model.profile import ArrivalProfile
from engine.model.rng import Stream

DEFAULT_SEGMENT_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Segment:
    """Segment ``number`` covers ``[start_ms, end_ms)`` and holds records ``[first, stop)``."""

    number: int
    start_ms: int
    end_ms: int
    first: int
    stop: int

    @property
    def count(self) -> int:
        return self.stop - self.first


class Schedule:
    """Times of the ``total`` records of one simulation."""

    __slots__ = ("_order", "_profile", "_stream", "end_ms", "start_ms", "total")

    def __init__(
        self,
        profile: ArrivalProfile,
        *,
        start_ms: int,
        end_ms: int,
        total: int,
        seed: int,
        iid: bool,
    ) -> None:
        self._profile = profile
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.total = total
        self._stream = Stream(seed, "schedule")
        self._order = OrderStatistics(seed, total) if iid else None

    def quantile(self, index: int) -> float:
        """Record ``index``'s quantile ``p_i`` in [0, 1)."""
        if self._order is not None:
            return self._order.value(index)
        return (index + self._stream.unit(index)) / self.total

    def time_of(self, index: int) -> int:
        """Record ``index``'s simulated time, epoch ms, ``start ≤ t < end``.

        Raises:
            IndexError: ``index`` is not in ``[0, total)``.
        """
        if not 0 <= index < self.total:
            raise IndexError(f"record index {index} is outside 0..{self.total - 1}")
        return self._profile.time_at(self.quantile(index))

    def first_at_or_after(self, t_ms: int) -> int:
        """The first index whose time is ≥ ``t_ms`` (``total`` when there is none)."""
        if t_ms <= self.start_ms:
            return 0
        if t_ms >= self.end_ms:
            return self.total
        if self._order is not None:
            return self._order.lower_bound(self._profile.time_at, t_ms)
        # Stratified: record i sits in quantile band [i/N, (i+1)/N), so N·F(t) is within a step
        # or two of the answer; gallop from there and finish with a binary search.
        total = self.total
        guess = min(max(int(self._profile.cdf(t_ms) * total), 0), total)
        if guess < total and self.time_of(guess) >= t_ms:
            high, step = guess, 1
            low = high - step
            while low >= 0 and self.time_of(low) >= t_ms:
                high, step = low, step * 2
                low = high - step
            low = max(low, -1)
        else:
            low, step = guess, 1
            high = low + step
            while high < total and self.time_of(high) < t_ms:
                low, step = high, step * 2
                high = low + step
            high = min(high, total)
        # Invariant: time_of(low) < t_ms (or low == -1) and time_of(high) >= t_ms (or high == N).
        while high - low > 1:
            mid = (low + high) // 2
            if self.time_of(mid) >= t_ms:
                high = mid
            else:
                low = mid
        return high

    def index_range(self, t0_ms: int, t1_ms: int) -> range:
        """The indices of the records whose time is in ``[t0_ms, t1_ms)``."""
        first = self.first_at_or_after(t0_ms)
        return range(first, max(first, self.first_at_or_after(t1_ms)))

    def times(self, start: int = 0, stop: int | None = None) -> Iterator[int]:
        """Times of records ``start … stop − 1`` in index order (cheaper than one by one)."""
        stop = self.total if stop is None else min(stop, self.total)
        if self._order is not None:
            time_at = self._profile.time_at
            for value in self._order.values(start, stop):
                yield time_at(value)
            return
        for index in range(start, stop):
            yield self.time_of(index)

    def segment(self, number: int, length_ms: int = DEFAULT_SEGMENT_MS) -> Segment:
        """Segment ``number``: ``[start + number·length, +length)`` clipped to the window."""
        seg_start = self.start_ms + number * length_ms
        seg_end = min(seg_start + length_ms, self.end_ms)
        indices = self.index_range(seg_start, seg_end)
        return Segment(number, seg_start, seg_end, indices.start, indices.stop)

    def segment_of(self, index: int, length_ms: int = DEFAULT_SEGMENT_MS) -> int:
        """The number of the segment record ``index`` falls in (the one whose range holds it)."""
        number = (self.time_of(index) - self.start_ms) // length_ms
        return max(0, min(number, self.segment_count(length_ms) - 1))

    def segment_count(self, length_ms: int = DEFAULT_SEGMENT_MS) -> int:
        return -(-(self.end_ms - self.start_ms) // length_ms)

    def segments(self, length_ms: int = DEFAULT_SEGMENT_MS) -> Iterator[Segment]:
        """Every segment of the window in order; their index ranges partition ``0..total``."""
        for number in range(self.segment_count(length_ms)):
            yield self.segment(number, length_ms)
