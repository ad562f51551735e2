"""The values the limiter takes and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a request has to wait."""

    WINDOW = "window"  # the rolling burst (or search) window is full
    BUCKET = "bucket"  # the request kind's token bucket is short of the cost
    DAILY = "daily"  # the daily budget is spent, or HubSpot said so with a DAILY 429
    COOLDOWN = "cooldown"  # a 429 asked us to back off
    BREAKER = "breaker"  # too many server or network failures: the circuit breaker is open
    SHARE = "share"  # the sender holds its share of the burst window while others want room


class ReasonCode(IntEnum):
    """The reason codes acquire-4.lua returns."""

    WINDOW = 1
    BUCKET = 2
    DAILY = 3
    COOLDOWN = 4
    BREAKER = 5
    SHARE = 6

    @property
    def reason(self) -> Reason:
        return Reason[self.name]


class Outcome(StrEnum):
    """What a request admitted by the limiter met, as told to :meth:`Limiter.report`."""

    OK = "ok"  # the server answered (2xx, or a 4xx other than 429)
    RATE_LIMITED = "rate_limited"  # a 429
    FAILED = "failed"  # a 5xx, a dropped connection or a timeout


class Policy(StrEnum):
    """Which of HubSpot's limits a 429 named."""

    WINDOW = "window"  # TEN_SECONDLY_ROLLING (or a 429 that names nothing)
    DAILY = "daily"  # DAILY: wait for the daily reset
    SEARCH = "search"  # the search endpoints' per-second limit


class BreakerState(StrEnum):
    """CLOSED: requests flow. OPEN: all refused until the open time ends. HALF_OPEN: the open
    time is over; one probe at a time is let through, and its answer closes or re-opens."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class LimiterEvent(IntEnum):
    """What a report changed (report-3.lua's event codes)."""

    NOTHING = 0
    BREAKER_OPENED = 1
    BREAKER_REOPENED = 2
    BREAKER_CLOSED = 3
    COOLDOWN = 4


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to :meth:`Limiter.acquire`.

    ``allowed`` requests were counted at ``at_ms``; pass that to :meth:`Limiter.report` as
    ``acquired_at_ms``. Refused ones should be tried again after ``wait_ms``, and ``reason``
    says which limit refused them (the one with the longest wait when several did).
    ``probe`` marks the single request let through while the breaker is half-open.
    """

    allowed: bool
    wait_ms: int
    reason: Reason | None
    at_ms: int
    probe: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    """HubSpot's view of the account's usage, from the ``X-HubSpot-RateLimit-*`` headers."""

    window_max: int | None = None
    window_remaining: int | None = None
    daily_max: int | None = None
    daily_remaining: int | None = None


@dataclass(frozen=True, slots=True)
class ReportEffect:
    """What :meth:`Limiter.report` changed, and the account's deadlines afterwards (0 = none)."""

    event: LimiterEvent
    breaker_open_until_ms: int
    cooldown_until_ms: int


@dataclass(frozen=True, slots=True)
class BucketState:
    tokens: int
    capacity: int


@dataclass(frozen=True, slots=True)
class LimiterState:
    """A snapshot of one account's limits (see :meth:`Limiter.state`)."""

    portal: str
    at_ms: int
    window_limit: int
    window_used: int
    window_ms: int  # HubSpot's window plus the margin learnt so far
    window_margin_ms: int
    window_senders: int  # senders (simulations) that asked for the burst window recently
    window_wanting: int  # … and of those, the ones refused room recently
    search_limit: int
    search_used: int
    daily_limit: int | None
    daily_used: int
    daily_reset_at_ms: int | None
    buckets: Mapping[str, BucketState]
    cooldown_until_ms: int | None
    cooldown_reason: Reason | None
    search_cooldown_until_ms: int | None
    breaker: BreakerState
    breaker_open_until_ms: int | None
    recent_failures: int
    breaker_trips: int

    @property
    def window_share(self) -> int:
        """Each active sender's share of the burst window (the whole window for one or none)."""
        return self.window_limit // max(1, self.window_senders)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``/api/health``)."""
        return {
            "portal": self.portal,
            "at_ms": self.at_ms,
            "window": {
                "limit": self.window_limit,
                "used": self.window_used,
                "ms": self.window_ms,
                "margin_ms": self.window_margin_ms,
                "senders": self.window_senders,
                "wanting": self.window_wanting,
                "share": self.window_share,
            },
            "search": {"limit": self.search_limit, "used": self.search_used},
            "daily": {
                "limit": self.daily_limit,
                "used": self.daily_used,
                "reset_at_ms": self.daily_reset_at_ms,
            },
            "buckets": {
                kind: {"tokens": b.tokens, "capacity": b.capacity}
                for kind, b in self.buckets.items()
            },
            "cooldown": {
                "until_ms": self.cooldown_until_ms,
                "reason": self.cooldown_reason,
                "search_until_ms": self.search_cooldown_until_ms,
            },
            "breaker": {
                "state": self.breaker,
                "open_until_ms": self.breaker_open_until_ms,
                "recent_failures": self.recent_failures,
                "trips": self.breaker_trips,
            },
        }
