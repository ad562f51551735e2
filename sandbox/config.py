"""The sandbox's knobs: HubSpot's limits to imitate, and the faults to inject."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.hubspot import ObjectType


class Fault(StrEnum):
    """What an injected fault does to a request (drawn with probability ``error_rate``)."""

    LOCKED = "423"  # a record lock during a large sync
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    ORIGIN_TIMEOUT = "524"
    DROP = "drop"  # the connection closes before the request is applied
    LOST = "lost"  # the request is applied, then the connection closes before the answer

    @property
    def status(self) -> int | None:
        return int(self.value) if self.value.isdigit() else None


DEFAULT_FAULTS = (Fault.BAD_GATEWAY, Fault.UNAVAILABLE, Fault.GATEWAY_TIMEOUT)


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How the sandbox behaves. Defaults imitate a Free/Starter private app with no faults.

    ``tier`` is the burst limit per token per ``window_ms``; ``daily_limit`` the account's daily
    budget (0: none, and no daily headers, as for OAuth apps). ``tokens`` lists the tokens that
    authenticate (empty: any bearer token does; each token is its own app with its own burst
    window). ``retry_after_s`` adds Retry-After to 429s (HubSpot's REST 429s were recorded
    without it). ``error_rate`` is the probability that a request meets one of ``faults``,
    drawn from a RNG seeded with ``seed``. Custom ``simcrm_*`` properties must be created
    through the properties API first when ``strict_properties`` is on, as on a real account.
    """

    tier: int = 100
    window_ms: int = 10_000
    daily_limit: int = 250_000
    search_per_second: int = 5
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    error_rate: float = 0.0
    faults: tuple[Fault, ...] = DEFAULT_FAULTS
    retry_after_s: int | None = None
    seed: int = 0
    tokens: tuple[str, ...] = field(default=(), repr=False)
    portal_id: int = 62_515_000
    time_zone: str = "UTC"
    search_lag_ms: int = 1_000
    strict_properties: bool = True
    denied_types: tuple[ObjectType, ...] = ()
    auth_failure: bool = False

    def __post_init__(self) -> None:
        for name in ("tier", "window_ms", "search_per_second", "portal_id"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")
        for name in ("daily_limit", "latency_ms", "latency_jitter_ms", "search_lag_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)})")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be from 0 to 1 (got {self.error_rate})")
        if self.error_rate > 0 and not self.faults:
            raise ValueError("faults must name at least one fault when error_rate > 0")
        if self.retry_after_s is not None and self.retry_after_s < 0:
            raise ValueError(f"retry_after_s must be >= 0 (got {self.retry_after_s})")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"time_zone must be an IANA zone name (got {self.time_zone!r})"
            ) from None
        object.__setattr__(self, "faults", tuple(Fault(f) for f in self.faults))
        object.__setattr__(self, "denied_types", tuple(ObjectType(t) for t in self.denied_types))

    def updated(self, **changes: Any) -> SandboxConfig:
        """A copy with ``changes`` applied (validated like a new config)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["tokens"] = len(self.tokens)  # how many, never which
        values["faults"] = [str(f) for f in self.faults]
        values["denied_types"] = [t.path for t in self.denied_types]
        return values
