"""Distribution methods by name, their parameters, and the shape each one builds.

``distribution_params`` (a JSON object) holds a method's parameters, all optional unless said:

============  ==========================================  =====================================
method        parameters (defaults)                       shape
============  ==========================================  =====================================
uniform       —                                           constant rate
ramp_up       ``start_rate`` 0, ``end_rate`` 1             linear ramp (relative rates)
ramp_down     ``start_rate`` 1, ``end_rate`` 0             linear ramp
stages        ``points`` [[u, rate], …] (required)        piecewise-linear rate; u from 0 to 1
bell          ``mean`` 0.5, ``sigma`` 1/6                  truncated normal (window fractions)
triangular    ``peak`` 0.5                                rises to the peak, falls to zero
front_loaded  ``half_life`` 0.25                          truncated exponential decay
back_loaded   ``half_life`` 0.25                          mirror image: exponential growth
poisson       —                                           iid uniform arrivals, exactly N
============  ==========================================  =====================================

Rates are relative (only their ratios matter), each from 0 to ``MAX_RATE`` and not all 0.

Every method but ``poisson`` is sampled by stratified quantiles; ``poisson`` draws iid quantiles
(the order statistics of N uniforms), which is a Poisson process conditioned on N arrivals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from engine.model.errors import DefinitionError
from engine.model.shapes import (
    Exponential,
    PiecewiseLinear,
    Shape,
    Triangular,
    TruncatedNormal,
    Uniform,
)

FIELD = "distribution_params"
MAX_RATE = 1e9  # relative rates: any ratio a user means fits, and sums of rates stay finite


class DistributionMethod(StrEnum):
    UNIFORM = "uniform"
    RAMP_UP = "ramp_up"
    RAMP_DOWN = "ramp_down"
    STAGES = "stages"
    BELL = "bell"
    TRIANGULAR = "triangular"
    FRONT_LOADED = "front_loaded"
    BACK_LOADED = "back_loaded"
    POISSON = "poisson"

    @property
    def iid(self) -> bool:
        """True when quantiles are iid (order statistics) rather than stratified."""
        return self is DistributionMethod.POISSON


def _number(params: Mapping[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DefinitionError(f"{FIELD}.{name}", f"must be a number (got {value!r})")
    return float(value)


def _fraction(params: Mapping[str, Any], name: str, default: float, *, open_low: bool) -> float:
    value = _number(params, name, default)
    if value > 1 or value < 0 or (open_low and value == 0):
        interval = "(0, 1]" if open_low else "[0, 1]"
        raise DefinitionError(f"{FIELD}.{name}", f"must be in {interval} (got {value})")
    return value


def _in_rate_range(rate: float) -> bool:
    return 0 <= rate <= MAX_RATE


def _rate(params: Mapping[str, Any], name: str, default: float) -> float:
    value = _number(params, name, default)
    if not _in_rate_range(value):
        raise DefinitionError(f"{FIELD}.{name}", f"must be from 0 to {MAX_RATE:g} (got {value})")
    return value


def _ramp(default_start: float, default_end: float) -> Callable[[Mapping[str, Any]], Shape]:
    def build(params: Mapping[str, Any]) -> Shape:
        start = _rate(params, "start_rate", default_start)
        end = _rate(params, "end_rate", default_end)
        shape = PiecewiseLinear((0.0, 1.0), (start, end))
        if not shape.mass > 0:
            raise DefinitionError(FIELD, "start_rate and end_rate must not both be 0")
        return shape

    return build


def _stages(params: Mapping[str, Any]) -> Shape:
    points = params.get("points")
    name = f"{FIELD}.points"
    if not isinstance(points, list) or len(points) < 2:
        raise DefinitionError(name, "must be a list of at least two [position, rate] pairs")
    positions: list[float] = []
    rates: list[float] = []
    for n, point in enumerate(points):
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in point)
        ):
            raise DefinitionError(f"{name}[{n}]", "must be a [position, rate] pair of numbers")
        position, rate = float(point[0]), float(point[1])
        if not math.isfinite(position) or not _in_rate_range(rate):
            raise DefinitionError(
                f"{name}[{n}]", f"needs a finite position and a rate from 0 to {MAX_RATE:g}"
            )
        if positions and position <= positions[-1]:
            raise DefinitionError(f"{name}[{n}]", "positions must increase")
        positions.append(position)
        rates.append(rate)
    if positions[0] != 0 or positions[-1] != 1:
        raise DefinitionError(name, "the first position must be 0 and the last 1")
    shape = PiecewiseLinear(tuple(positions), tuple(rates))
    if not shape.mass > 0:  # before anything calls cdf, which divides by it
        raise DefinitionError(name, "at least one rate must be above 0")
    return shape


def _bell(params: Mapping[str, Any]) -> Shape:
    mean = _fraction(params, "mean", 0.5, open_low=False)
    sigma = _number(params, "sigma", 1 / 6)
    if not 0.01 <= sigma <= 10:
        raise DefinitionError(f"{FIELD}.sigma", f"must be from 0.01 to 10 (got {sigma})")
    return TruncatedNormal(mean, sigma)


def _triangular(params: Mapping[str, Any]) -> Shape:
    return Triangular(_fraction(params, "peak", 0.5, open_low=False))


def _exponential(backward: bool) -> Callable[[Mapping[str, Any]], Shape]:
    def build(params: Mapping[str, Any]) -> Shape:
        half_life = _number(params, "half_life", 0.25)
        if not 0.01 <= half_life <= 100:
            raise DefinitionError(
                f"{FIELD}.half_life", f"must be from 0.01 to 100 (got {half_life})"
            )
        return Exponential(half_life, backward)

    return build


_BUILDERS: dict[DistributionMethod, tuple[frozenset[str], Callable[[Mapping[str, Any]], Shape]]] = {
    DistributionMethod.UNIFORM: (frozenset(), lambda _: Uniform()),
    DistributionMethod.POISSON: (frozenset(), lambda _: Uniform()),
    DistributionMethod.RAMP_UP: (frozenset({"start_rate", "end_rate"}), _ramp(0.0, 1.0)),
    DistributionMethod.RAMP_DOWN: (frozenset({"start_rate", "end_rate"}), _ramp(1.0, 0.0)),
    DistributionMethod.STAGES: (frozenset({"points"}), _stages),
    DistributionMethod.BELL: (frozenset({"mean", "sigma"}), _bell),
    DistributionMethod.TRIANGULAR: (frozenset({"peak"}), _triangular),
    DistributionMethod.FRONT_LOADED: (frozenset({"half_life"}), _exponential(False)),
    DistributionMethod.BACK_LOADED: (frozenset({"half_life"}), _exponential(True)),
}


def parse_method(value: object) -> DistributionMethod:
    """The method named ``value``; DefinitionError naming ``distribution_method`` otherwise."""
    try:
        return DistributionMethod(str(value))
    except ValueError:
        known = ", ".join(m.value for m in DistributionMethod)
        raise DefinitionError(
            "distribution_method", f"must be one of {known} (got {value!r})"
        ) from None


def build_shape(method: DistributionMethod, params: Mapping[str, Any]) -> Shape:
    """The shape for ``method`` with ``params``; unknown or bad parameters are named."""
    known, build = _BUILDERS[method]
    unknown = sorted(set(params) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise DefinitionError(
            f"{FIELD}.{unknown[0]}", f"is not a parameter of {method.value} (allowed: {allowed})"
        )
    return build(params)
