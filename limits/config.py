"""What the limiter enforces for an account: HubSpot's published limits, by tier.

A tier is the account's burst limit per 10 seconds (HubSpot's numbers, research §4.1):

====  ======================================================  ================
tier  who has it                                              daily default
====  ======================================================  ================
100   private apps on Free / Starter                          250,000
110   public (marketplace) OAuth apps                         none
190   private apps on Professional / Enterprise               625,000
250   private apps with the API limit increase add-on         1,000,000
====  ======================================================  ================

Requests come in *kinds*: an object type (``contact``, ``company``, ``deal``, ``ticket``, ``note``,
``call``, ``task``), whose calls take from the burst window and from that type's token bucket;
``search``, which has its own per-second window (HubSpot exempts search from the burst window);
and ``other`` (properties, associations, account info), which takes from the burst window only.
Every kind counts against the daily budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits.errors import LimitConfigError, UnknownKind

OBJECT_KINDS = ("contact", "company", "deal", "ticket", "note", "call", "task")
PRIMARY_KINDS = ("contact", "company", "deal")
SEARCH = "search"
OTHER = "other"
KINDS = (*OBJECT_KINDS, SEARCH, OTHER)

# HubSpot's tiers, written once for SimCRM's own code: HUBSPOT_TIER, the capacity estimate and
# the --tier of `simcrm sim plan` and `simcrm demo` take them from here. (The sandbox, a separate
# product, keeps its own table of HubSpot's behaviour.)
DAILY_BY_TIER: Mapping[int, int | None] = MappingProxyType(
    {100: 250_000, 110: None, 190: 625_000, 250: 1_000_000}
)
TIERS = tuple(DAILY_BY_TIER)
DEFAULT_TIER = 100
DEFAULT_TIMEZONE = "UTC"
MAX_BATCH = 100  # inputs per HubSpot batch call: the largest cost one request can carry

DEFAULT_WINDOW_MS = 10_000
DEFAULT_WINDOW_MARGIN_MS = 500  # the cap of the learnt margin (HUBSPOT_WINDOW_MARGIN_MS)
DEFAULT_WINDOW_MARGIN_FLOOR_MS = 100  # the learnt margin never shrinks below this …
DEFAULT_WINDOW_MARGIN_STEP_MS = 10  # … and shrinks by this much per answer that agrees with us
DEFAULT_REFILL_MS = 60_000
DEFAULT_COOLDOWN_MS = 15_000
DEFAULT_SEARCH_PER_SECOND = 4
DEFAULT_BREAKER_FAILURES = 8
DEFAULT_BREAKER_WINDOW_MS = 60_000
DEFAULT_BREAKER_OPEN_MS = 30_000
DEFAULT_PROBE_TIMEOUT_MS = 30_000
SENDER_GRACE_MS = 1_000  # a sender stays active this long past a window after it last asked
REPORT_HORIZON_MS = 30_000  # how old an admission may be when its response is reported


def default_bucket_capacities(window_limit: int, window_ms: int, refill_ms: int) -> dict[str, int]:
    """Per-kind bucket capacities (units per refill period) when the settings name none.

    The burst window admits at most ``window_limit × refill_ms / window_ms`` requests per refill
    period, each of up to 100 records. Contacts, companies and deals may use all of it; notes,
    calls, tasks and tickets half each, so a flood of activities always leaves room for the
    records they hang on.
    """
    full = window_limit * refill_ms // window_ms * MAX_BATCH
    return {
        kind: full if kind in PRIMARY_KINDS else max(MAX_BATCH, full // 2) for kind in OBJECT_KINDS
    }


@dataclass(frozen=True, slots=True)
class LimitConfig:
    """The limits applied to every account this limiter serves. Times in ms.

    The defaults are HubSpot's free tier (:data:`DEFAULT_TIER`) in UTC; :meth:`for_tier` gives
    another tier's.
    """

    window_limit: int = DEFAULT_TIER
    window_ms: int = DEFAULT_WINDOW_MS
    window_margin_ms: int = DEFAULT_WINDOW_MARGIN_MS
    window_margin_floor_ms: int = DEFAULT_WINDOW_MARGIN_FLOOR_MS
    window_margin_step_ms: int = DEFAULT_WINDOW_MARGIN_STEP_MS
    daily_limit: int | None = DAILY_BY_TIER[DEFAULT_TIER]
    timezone: str = DEFAULT_TIMEZONE
    buckets: Mapping[str, int] = field(default_factory=dict)
    refill_ms: int = DEFAULT_REFILL_MS
    search_limit: int = DEFAULT_SEARCH_PER_SECOND
    search_window_ms: int = 1_000
    cooldown_ms: int = DEFAULT_COOLDOWN_MS
    search_cooldown_ms: int = 1_000
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_window_ms: int = DEFAULT_BREAKER_WINDOW_MS
    breaker_open_ms: int = DEFAULT_BREAKER_OPEN_MS
    probe_timeout_ms: int = DEFAULT_PROBE_TIMEOUT_MS

    def __post_init__(self) -> None:
        positive = {
            "window_limit": self.window_limit,
            "window_ms": self.window_ms,
            "refill_ms": self.refill_ms,
            "search_limit": self.search_limit,
            "search_window_ms": self.search_window_ms,
            "cooldown_ms": self.cooldown_ms,
            "search_cooldown_ms": self.search_cooldown_ms,
            "breaker_failures": self.breaker_failures,
            "breaker_window_ms": self.breaker_window_ms,
            "breaker_open_ms": self.breaker_open_ms,
            "probe_timeout_ms": self.probe_timeout_ms,
        }
        for name, value in positive.items():
            if value < 1:
                raise LimitConfigError(f"{name} must be at least 1 (got {value})")
        for name, value in {
            "window_margin_ms": self.window_margin_ms,
            "window_margin_floor_ms": self.window_margin_floor_ms,
            "window_margin_step_ms": self.window_margin_step_ms,
        }.items():
            if value < 0:
                raise LimitConfigError(f"{name} must be >= 0 (got {value})")
        if self.daily_limit is not None and self.daily_limit < 1:
            raise LimitConfigError(
                f"daily_limit must be at least 1 or None (got {self.daily_limit})"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise LimitConfigError(
                f"timezone must be an IANA zone name (got {self.timezone!r})"
            ) from None
        capacities = default_bucket_capacities(self.window_limit, self.window_ms, self.refill_ms)
        for kind, capacity in self.buckets.items():
            if kind not in OBJECT_KINDS:
                raise LimitConfigError(f"buckets has an unknown kind {kind!r}")
            if capacity < MAX_BATCH:
                raise LimitConfigError(
                    f"buckets[{kind!r}] must be at least {MAX_BATCH}, one full batch "
                    f"(got {capacity})"
                )
            capacities[kind] = capacity
        object.__setattr__(self, "buckets", MappingProxyType(capacities))

    @classmethod
    def for_tier(cls, tier: int, **overrides: object) -> LimitConfig:
        """HubSpot's limits for ``tier`` (100, 110, 190 or 250), with any field overridden."""
        if tier not in TIERS:
            raise LimitConfigError(f"tier must be one of {', '.join(map(str, TIERS))} (got {tier})")
        values: dict[str, object] = {"window_limit": tier, "daily_limit": DAILY_BY_TIER[tier]}
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def effective_window_ms(self) -> int:
        """The longest span the burst window is enforced over: HubSpot's 10 s plus the margin's
        cap (``window_margin_ms``).

        The margin absorbs the time between our admission and HubSpot's receipt, which varies
        from request to request (event-loop lag, a new TLS connection, network jitter); without
        it two requests a limit apart could land in one of HubSpot's windows. The limiter learns
        it per account (see :attr:`margin_floor_ms`): it starts at the cap, and comes back to it
        whenever HubSpot counts more than we do or answers a ten-secondly 429.
        """
        return self.window_ms + self.window_margin_ms

    @property
    def margin_floor_ms(self) -> int:
        """The least margin learnt: ``window_margin_floor_ms``, or the cap when that is lower.
        The longest round trip of the last two windows raises it further (report-3.lua): a
        request's transit to HubSpot is shorter than its round trip, so two admissions a
        window plus that margin apart can never reach HubSpot within one window."""
        return min(self.window_margin_floor_ms, self.window_margin_ms)

    @property
    def active_sender_ms(self) -> int:
        """How long a sender counts as active (sharing the window) after it last asked: the
        longest window and a second of grace, since a refused sender is told to come back
        within a window (plus the queue's rounding of its delay)."""
        return self.effective_window_ms + SENDER_GRACE_MS

    @property
    def idle_ttl_ms(self) -> int:
        """How long an idle account's state survives: past every window it keeps, plus a minute."""
        return max(self.effective_window_ms, self.refill_ms, self.breaker_window_ms) + 60_000

    def bucket_capacity(self, kind: str) -> int:
        """The bucket capacity of ``kind``; 0 for ``search`` and ``other`` (no bucket)."""
        if kind in self.buckets:
            return self.buckets[kind]
        if kind in (SEARCH, OTHER):
            return 0
        raise UnknownKind(f"unknown request kind {kind!r}; expected one of {', '.join(KINDS)}")

    def next_daily_reset_ms(self, now_ms: int, timezone: str | None = None) -> int:
        """Epoch ms of the next midnight after ``now_ms`` in ``timezone`` (the account's own,
        when known), else in :attr:`timezone`."""
        zone = ZoneInfo(timezone or self.timezone)
        local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
        return int(midnight.timestamp() * 1000)
