"""Arrival shapes: densities on the normalised window ``u = (t − S)/D ∈ [0, 1)``.

Every shape gives its cumulative distribution ``F(u)`` and the exact inverse ``G(p) = F⁻¹(p)``;
a record's time is ``S + D·G(p)`` for a quantile ``p`` chosen by the schedule. The formulas are
those of the research notes (crm-sim-anchors §4); each class states its own.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Protocol

_STANDARD = NormalDist()
_TINY = 1e-300


class Shape(Protocol):
    """A density on [0, 1]: ``cdf`` is non-decreasing from 0 to 1, ``inverse`` its inverse."""

    def cdf(self, u: float) -> float: ...

    def inverse(self, p: float) -> float: ...


def _unit(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


@dataclass(frozen=True, slots=True)
class Uniform:
    """Constant rate: ``f(u) = 1``, ``F(u) = u``, ``G(p) = p``."""

    def cdf(self, u: float) -> float:
        return _unit(u)

    def inverse(self, p: float) -> float:
        return _unit(p)


@dataclass(frozen=True, slots=True)
class PiecewiseLinear:
    """A rate that moves linearly between stage points ``(u_k, r_k)``, from ``u_0 = 0`` to ``1``.

    On a stage of width ``w`` whose rate goes from ``a`` to ``b``, the mass up to ``s`` into the
    stage is ``a·s + (b − a)·s²/(2w)``; ``F`` adds the masses of earlier stages and divides by the
    total ``Σ (a + b)·w/2``. The inverse solves the quadratic for ``s`` given the remaining mass
    ``q``: ``s = 2q / (a + √(a² + 2(b − a)·q/w))`` (the cancellation-free form of
    ``(−a + √(a² + 2(b − a)q/w))·w/(b − a)``). With two points this is the linear ramp of the
    research notes: rate ``a`` at the start, ``b`` at the end, ``G(p) = √p`` when ``a = 0`` and
    ``G(p) = 1 − √(1 − p)`` when ``b = 0``.
    """

    positions: tuple[float, ...]
    rates: tuple[float, ...]
    _masses: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cumulative = [0.0]
        for k in range(len(self.positions) - 1):
            width = self.positions[k + 1] - self.positions[k]
            cumulative.append(cumulative[-1] + (self.rates[k] + self.rates[k + 1]) * width / 2)
        object.__setattr__(self, "_masses", tuple(cumulative))

    @property
    def mass(self) -> float:
        """The area under the rate: the shape is a density only when it is above 0."""
        return self._masses[-1]

    def cdf(self, u: float) -> float:
        u = _unit(u)
        masses = self._masses
        k = max(0, min(len(self.positions) - 2, bisect_left(self.positions, u) - 1))
        a, b = self.rates[k], self.rates[k + 1]
        width = self.positions[k + 1] - self.positions[k]
        s = u - self.positions[k]
        partial = a * s + (b - a) * s * s / (2 * width)
        return _unit((masses[k] + partial) / masses[-1])

    def inverse(self, p: float) -> float:
        masses = self._masses
        target = _unit(p) * masses[-1]
        k = bisect_left(masses, target) - 1 if target > 0 else 0
        k = max(0, min(len(self.positions) - 2, k))
        while masses[k + 1] - masses[k] <= 0 and k < len(self.positions) - 2:
            k += 1
        a, b = self.rates[k], self.rates[k + 1]
        width = self.positions[k + 1] - self.positions[k]
        q = target - masses[k]
        if q <= 0:
            return self.positions[k]
        s = 2 * q / (a + math.sqrt(max(0.0, a * a + 2 * (b - a) * q / width)))
        return _unit(min(self.positions[k] + s, self.positions[k + 1]))


@dataclass(frozen=True, slots=True)
class TruncatedNormal:
    """A bell centred at ``μ`` with spread ``σ``, truncated (not clamped) to the window.

    ``α = −μ/σ``, ``β = (1 − μ)/σ``, ``Z = Φ(β) − Φ(α)``; ``F(u) = (Φ((u − μ)/σ) − Φ(α))/Z`` and
    ``G(p) = μ + σ·Φ⁻¹(Φ(α) + p·Z)``, with ``Φ`` the standard normal CDF.
    """

    mean: float = 0.5
    sigma: float = 1 / 6
    _low: float = field(init=False, repr=False, compare=False)
    _high: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_low", _STANDARD.cdf(-self.mean / self.sigma))
        object.__setattr__(self, "_high", _STANDARD.cdf((1 - self.mean) / self.sigma))

    def cdf(self, u: float) -> float:
        low, high = self._low, self._high
        value = (_STANDARD.cdf((_unit(u) - self.mean) / self.sigma) - low) / (high - low)
        return _unit(value)

    def inverse(self, p: float) -> float:
        low, high = self._low, self._high
        inner = min(max(low + _unit(p) * (high - low), _TINY), 1 - 1e-16)
        return _unit(self.mean + self.sigma * _STANDARD.inv_cdf(inner))


@dataclass(frozen=True, slots=True)
class Triangular:
    """Rate rising linearly to a peak at ``c`` and falling back to zero at the window's end.

    ``F(u) = u²/c`` below the peak and ``1 − (1 − u)²/(1 − c)`` above it;
    ``G(p) = √(p·c)`` for ``p < c``, else ``1 − √((1 − p)(1 − c))``.
    """

    peak: float = 0.5

    def cdf(self, u: float) -> float:
        u = _unit(u)
        if u < self.peak:
            return u * u / self.peak
        if self.peak >= 1:
            return 1.0
        return _unit(1 - (1 - u) ** 2 / (1 - self.peak))

    def inverse(self, p: float) -> float:
        p = _unit(p)
        if p < self.peak:
            return math.sqrt(p * self.peak)
        return _unit(1 - math.sqrt((1 - p) * (1 - self.peak)))


@dataclass(frozen=True, slots=True)
class Exponential:
    """Truncated exponential decay (front-loaded) or its mirror image (back-loaded).

    With decay ``k = ln 2 / h`` for a half-life ``h`` (a fraction of the window), front-loaded has
    ``f(u) = k·e^(−k·u)/(1 − e^(−k))``, ``F(u) = (1 − e^(−k·u))/(1 − e^(−k))`` and
    ``G(p) = −ln(1 − p·(1 − e^(−k)))/k``. Back-loaded is the mirror: ``F_back(u) = 1 − F(1 − u)``,
    ``G_back(p) = 1 − G(1 − p)`` — steady growth by a factor ``2^(1/h)`` over the window.
    """

    half_life: float = 0.25
    backward: bool = False
    _k: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_k", math.log(2) / self.half_life)

    def _front_cdf(self, u: float) -> float:
        return math.expm1(-self._k * u) / math.expm1(-self._k)

    def _front_inverse(self, p: float) -> float:
        return -math.log1p(p * math.expm1(-self._k)) / self._k

    def cdf(self, u: float) -> float:
        u = _unit(u)
        return _unit(1 - self._front_cdf(1 - u) if self.backward else self._front_cdf(u))

    def inverse(self, p: float) -> float:
        p = _unit(p)
        return _unit(1 - self._front_inverse(1 - p) if self.backward else self._front_inverse(p))
