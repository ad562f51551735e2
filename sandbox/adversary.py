"""The adversarial modes: how HubSpot misbehaves in ways a careful client must survive.

Each decision is drawn from one RNG seeded with the sandbox's seed, so a run can be replayed:
a write committed and then answered with a gateway error or never answered, an object's own
search lag, batch results in random order, and the unique-value refusal in one of HubSpot's
several wordings (statuses 400 and 409; some name the property or the holder, some do not).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

from sandbox import bodies
from sandbox.config import SandboxConfig
from sandbox.hubspot import ObjectType
from sandbox.store import Rejected, UniqueConflict

T = TypeVar("T")


class AfterWrite(StrEnum):
    """What becomes of the answer to a write that was committed."""

    ERROR = "applied-error"
    TIMEOUT = "applied-timeout"


def _problem(conflict: UniqueConflict, message: str, code: str) -> str:
    return bodies.invalid_properties(
        [{"isValid": False, "message": message, "error": code, "name": conflict.name}]
    )


def reworded(conflict: UniqueConflict, kind: ObjectType, wording: int) -> Rejected:
    """The same refusal in another of HubSpot's wordings (``wording`` picks which)."""
    name, value, holder = conflict.name, conflict.value, conflict.holder
    choices = (
        lambda: conflict,
        lambda: Rejected(
            400,
            "VALIDATION_ERROR",
            _problem(conflict, f"A {kind.value} with {name} {value} already exists", "DUPLICATE"),
            errors=[{"message": "Duplicate value", "code": "DUPLICATE_VALUE"}],
        ),
        lambda: Rejected(
            409,
            "CONFLICT",
            f"An object with the unique value {value} for {name} already exists. "
            f"Existing ID: {holder}",
        ),
        lambda: Rejected(400, "VALIDATION_ERROR", f"propertyValue: already has that value {name}"),
        lambda: Rejected(409, "CONFLICT", "A record with this unique value already exists."),
    )
    return choices[wording % len(choices)]()


WORDINGS = 5


class Adversary:
    """The seeded draws behind every adversarial mode."""

    def __init__(self, seed: int) -> None:
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self._rng = random.Random(f"{seed}:adversary")

    def after_write(self, config: SandboxConfig) -> AfterWrite | None:
        """Whether a committed write loses its answer, and how."""
        error, timeout = config.applied_error_rate, config.applied_timeout_rate
        if error <= 0 and timeout <= 0:
            return None
        draw = self._rng.random()
        if draw < error:
            return AfterWrite.ERROR
        if draw < error + timeout:
            return AfterWrite.TIMEOUT
        return None

    def applied_status(self, config: SandboxConfig) -> int:
        return self._rng.choice(config.applied_errors)

    def search_lag_ms(self, config: SandboxConfig) -> int | None:
        """A new object's own search lag, or None to follow ``search_lag_ms`` as it changes."""
        if config.search_lag_max_ms is None:
            return None
        return self._rng.randint(config.search_lag_ms, config.search_lag_max_ms)

    def order(self, config: SandboxConfig, items: Sequence[T]) -> list[T]:
        """Batch results as the answer lists them: in input order, or shuffled."""
        listed = list(items)
        if config.shuffle_results:
            self._rng.shuffle(listed)
        return listed

    def refusal(
        self, config: SandboxConfig, conflict: UniqueConflict, kind: ObjectType
    ) -> Rejected:
        """The unique-value refusal as this answer words it."""
        if not config.duplicate_wordings:
            return conflict
        return reworded(conflict, kind, self._rng.randrange(WORDINGS))
