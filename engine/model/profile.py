"""The arrival profile: a shape multiplied by calendar weights, as one CDF and its inverse.

Without a calendar a quantile ``p`` maps to ``t = S + ⌊D·G(p)⌋`` milliseconds. With one, the
intensity is ``λ(t) = w_j · f(u)`` on grid bucket ``j`` (calendar weight times shape density), so
bucket ``j`` holds the mass ``m_j = w_j·(F(u_{j+1}) − F(u_j))``. With ``C_j`` the cumulative
masses, a quantile ``p`` falls in the bucket where ``C_j < p·C_total ≤ C_{j+1}`` and, inside it,
``t = S + D·G(F(u_j) + (p·C_total − C_j)/w_j)`` — the shape's own inverse, so the time is exact
rather than spread uniformly over the hour. Every time satisfies ``S ≤ t < E`` and is a
non-decreasing function of ``p``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate

from engine.model.errors import DefinitionError
from engine.model.shapes import Shape


class ArrivalProfile:
    """``time_at(p)`` (quantile → epoch ms) and ``cdf(t)`` (epoch ms → quantile) for a window."""

    __slots__ = (
        "_bounds",
        "_cumulative",
        "_end",
        "_shape",
        "_span",
        "_start",
        "_starts",
        "_weights",
    )

    def __init__(
        self,
        start_ms: int,
        end_ms: int,
        shape: Shape,
        bounds: tuple[int, ...] | None = None,
        weights: tuple[float, ...] | None = None,
    ) -> None:
        """``bounds``/``weights`` are the grid and calendar; both None means no calendar.

        Raises:
            DefinitionError: the calendar leaves no weight anywhere in the window.
        """
        self._start = start_ms
        self._end = end_ms
        self._span = end_ms - start_ms
        self._shape = shape
        self._bounds: tuple[int, ...] = ()
        self._weights: tuple[float, ...] = ()
        self._starts: tuple[float, ...] = ()
        self._cumulative: tuple[float, ...] = ()
        if bounds is None or weights is None:
            return
        starts = tuple(shape.cdf((b - start_ms) / self._span) for b in bounds)
        masses = (weights[j] * max(0.0, starts[j + 1] - starts[j]) for j in range(len(weights)))
        cumulative = (0.0, *accumulate(masses))
        if cumulative[-1] <= 0:
            raise DefinitionError(
                "calendar", "its weights are zero wherever the distribution places arrivals"
            )
        self._bounds, self._weights, self._starts = bounds, weights, starts
        self._cumulative = cumulative

    def time_at(self, p: float) -> int:
        """The epoch-ms time of quantile ``p ∈ [0, 1)``; non-decreasing in ``p``."""
        start, span = self._start, self._span
        if not self._cumulative:
            offset = int(span * self._shape.inverse(p))
            return start + (offset if offset < span else span - 1)
        cumulative = self._cumulative
        target = p * cumulative[-1]
        j = bisect_left(cumulative, target) - 1 if target > 0 else bisect_right(cumulative, 0.0) - 1
        j = min(max(j, 0), len(self._weights) - 1)
        inside = self._starts[j] + (target - cumulative[j]) / self._weights[j]
        at = start + int(span * self._shape.inverse(inside))
        low, high = self._bounds[j], self._bounds[j + 1] - 1
        return low if at < low else high if at > high else at

    def cdf(self, t_ms: float) -> float:
        """The fraction of arrivals expected before ``t_ms``."""
        if t_ms <= self._start:
            return 0.0
        if t_ms >= self._end:
            return 1.0
        u = (t_ms - self._start) / self._span
        if not self._cumulative:
            return self._shape.cdf(u)
        j = min(bisect_right(self._bounds, t_ms) - 1, len(self._weights) - 1)
        inside = self._weights[j] * max(0.0, self._shape.cdf(u) - self._starts[j])
        return min(1.0, (self._cumulative[j] + inside) / self._cumulative[-1])
