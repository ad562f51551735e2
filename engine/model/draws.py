"""Count and delay distributions of a scenario's activity rules, as validated data.

Each is a small frozen dataclass chosen by its ``kind`` and sampled from a record's own
:class:`random.Random` (the activity RNG), so a record's plan depends on nothing but its key.

Counts (how many activities of a type a record gets, when it gets any):

* ``fixed`` — always ``n``;
* ``uniform`` — an integer from ``min`` to ``max``, each equally likely;
* ``poisson`` — ``1 + Poisson(mean − 1)``: at least one, ``mean`` on average.

Delays (how long after its parent an activity happens), in hours:

* ``fixed`` — exactly ``hours``;
* ``uniform`` — between ``min_hours`` and ``max_hours``;
* ``exponential`` — memoryless, ``mean_hours`` on average (speed-to-lead);
* ``lognormal`` — ``median_hours · e^(σ·Z)`` with Z standard normal: a long tail;
* ``triangular`` — between ``min_hours`` and ``max_hours``, most likely at ``mode_hours``.
"""

from __future__ import annotations

import math
import random
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

HOUR_MS = 3_600_000
_STRICT = ConfigDict(extra="forbid")
Hours = Annotated[float, Field(ge=0, le=24 * 365 * 5)]


@dataclass(frozen=True, slots=True, config=_STRICT)
class FixedCount:
    kind: Literal["fixed"] = "fixed"
    n: Annotated[int, Field(ge=0, le=1000)] = 1

    def sample(self, rng: random.Random) -> int:
        return self.n

    @property
    def mean(self) -> float:
        return float(self.n)


@dataclass(frozen=True, slots=True, config=_STRICT)
class UniformCount:
    kind: Literal["uniform"] = "uniform"
    min: Annotated[int, Field(ge=0, le=1000)] = 1
    max: Annotated[int, Field(ge=0, le=1000)] = 1

    @model_validator(mode="after")
    def _ordered(self) -> UniformCount:
        if self.max < self.min:
            raise ValueError("max must be >= min")
        return self

    def sample(self, rng: random.Random) -> int:
        return rng.randint(self.min, self.max)

    @property
    def mean(self) -> float:
        return (self.min + self.max) / 2


@dataclass(frozen=True, slots=True, config=_STRICT)
class PoissonCount:
    kind: Literal["poisson"] = "poisson"
    mean: Annotated[float, Field(ge=1, le=50)] = 1.0

    def sample(self, rng: random.Random) -> int:
        # Knuth's multiplication method: exact, and fast for the small means allowed here.
        limit = math.exp(-(self.mean - 1))
        count, product = 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return 1 + count


Count = Annotated[FixedCount | UniformCount | PoissonCount, Field(discriminator="kind")]


@dataclass(frozen=True, slots=True, config=_STRICT)
class FixedDelay:
    kind: Literal["fixed"] = "fixed"
    hours: Hours = 0.0

    def sample_ms(self, rng: random.Random) -> int:
        return int(self.hours * HOUR_MS)


@dataclass(frozen=True, slots=True, config=_STRICT)
class UniformDelay:
    kind: Literal["uniform"] = "uniform"
    min_hours: Hours = 0.0
    max_hours: Hours = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> UniformDelay:
        if self.max_hours < self.min_hours:
            raise ValueError("max_hours must be >= min_hours")
        return self

    def sample_ms(self, rng: random.Random) -> int:
        return int(rng.uniform(self.min_hours, self.max_hours) * HOUR_MS)


@dataclass(frozen=True, slots=True, config=_STRICT)
class ExponentialDelay:
    kind: Literal["exponential"] = "exponential"
    mean_hours: Annotated[float, Field(gt=0, le=24 * 365)] = 24.0

    def sample_ms(self, rng: random.Random) -> int:
        return int(rng.expovariate(1 / self.mean_hours) * HOUR_MS)


@dataclass(frozen=True, slots=True, config=_STRICT)
class LognormalDelay:
    kind: Literal["lognormal"] = "lognormal"
    median_hours: Annotated[float, Field(gt=0, le=24 * 365)] = 24.0
    sigma: Annotated[float, Field(ge=0, le=5)] = 1.0

    def sample_ms(self, rng: random.Random) -> int:
        hours = rng.lognormvariate(math.log(self.median_hours), self.sigma)
        return int(min(hours, 24 * 365 * 5) * HOUR_MS)


@dataclass(frozen=True, slots=True, config=_STRICT)
class TriangularDelay:
    kind: Literal["triangular"] = "triangular"
    min_hours: Hours = 0.0
    mode_hours: Hours = 1.0
    max_hours: Hours = 2.0

    @model_validator(mode="after")
    def _ordered(self) -> TriangularDelay:
        if not self.min_hours <= self.mode_hours <= self.max_hours:
            raise ValueError("needs min_hours <= mode_hours <= max_hours")
        return self

    def sample_ms(self, rng: random.Random) -> int:
        return int(rng.triangular(self.min_hours, self.max_hours, self.mode_hours) * HOUR_MS)


Delay = Annotated[
    FixedDelay | UniformDelay | ExponentialDelay | LognormalDelay | TriangularDelay,
    Field(discriminator="kind"),
]
