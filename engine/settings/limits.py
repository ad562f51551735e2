"""HubSpot's rate limits for the accounts SimCRM writes to (:class:`limits.LimitConfig`).

``HUBSPOT_TIER`` is the burst limit per 10 s (:data:`limits.TIERS`); every number left unset
follows the tier's published defaults (:meth:`LimitConfig.for_tier`), the daily limit included
(``HUBSPOT_DAILY_LIMIT=0`` means none, as for OAuth apps). The rest adjust the limiter:
``HUBSPOT_TIMEZONE`` (daily reset), ``HUBSPOT_WINDOW_MARGIN_MS`` (the cap of the burst window's
safety margin, which the limiter learns from HubSpot's answers down to 100 ms),
``HUBSPOT_BUCKET_<KIND>`` and ``HUBSPOT_BUCKET_REFILL_MS``, ``HUBSPOT_SEARCH_PER_SECOND``,
``HUBSPOT_COOLDOWN_MS`` and the breaker's ``HUBSPOT_BREAKER_FAILURES``, ``_WINDOW_MS``,
``_OPEN_MS`` and ``_PROBE_MS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from engine.settings import parsers
from engine.settings.section import Section, variable
from limits.config import (
    DEFAULT_BREAKER_FAILURES,
    DEFAULT_BREAKER_OPEN_MS,
    DEFAULT_BREAKER_WINDOW_MS,
    DEFAULT_COOLDOWN_MS,
    DEFAULT_PROBE_TIMEOUT_MS,
    DEFAULT_REFILL_MS,
    DEFAULT_SEARCH_PER_SECOND,
    DEFAULT_TIER,
    DEFAULT_TIMEZONE,
    DEFAULT_WINDOW_MARGIN_MS,
    MAX_BATCH,
    OBJECT_KINDS,
    TIERS,
    LimitConfig,
)

Bucket = Annotated[int | None, parsers.between(MAX_BATCH, None)]
Span = Annotated[int, parsers.between(100, 3_600_000)]
LongSpan = Annotated[int, parsers.between(1_000, 3_600_000)]


class LimitSettings(Section):
    tier: Annotated[int, BeforeValidator(parsers.one_of(TIERS))] = variable(
        "HUBSPOT_TIER", default=DEFAULT_TIER
    )
    daily_limit: Annotated[int | None, parsers.between(0, None)] = variable("HUBSPOT_DAILY_LIMIT")
    timezone: Annotated[str, BeforeValidator(parsers.time_zone)] = variable(
        "HUBSPOT_TIMEZONE", default=DEFAULT_TIMEZONE
    )
    window_margin_ms: Annotated[int, parsers.between(0, 5_000)] = variable(
        "HUBSPOT_WINDOW_MARGIN_MS", default=DEFAULT_WINDOW_MARGIN_MS
    )
    bucket_refill_ms: LongSpan = variable("HUBSPOT_BUCKET_REFILL_MS", default=DEFAULT_REFILL_MS)
    bucket_contact: Bucket = variable("HUBSPOT_BUCKET_CONTACT")
    bucket_company: Bucket = variable("HUBSPOT_BUCKET_COMPANY")
    bucket_deal: Bucket = variable("HUBSPOT_BUCKET_DEAL")
    bucket_ticket: Bucket = variable("HUBSPOT_BUCKET_TICKET")
    bucket_note: Bucket = variable("HUBSPOT_BUCKET_NOTE")
    bucket_call: Bucket = variable("HUBSPOT_BUCKET_CALL")
    bucket_task: Bucket = variable("HUBSPOT_BUCKET_TASK")
    search_per_second: Annotated[int, parsers.between(1, 100)] = variable(
        "HUBSPOT_SEARCH_PER_SECOND", default=DEFAULT_SEARCH_PER_SECOND
    )
    cooldown_ms: Span = variable("HUBSPOT_COOLDOWN_MS", default=DEFAULT_COOLDOWN_MS)
    breaker_failures: Annotated[int, parsers.between(1, 10_000)] = variable(
        "HUBSPOT_BREAKER_FAILURES", default=DEFAULT_BREAKER_FAILURES
    )
    breaker_window_ms: LongSpan = variable(
        "HUBSPOT_BREAKER_WINDOW_MS", default=DEFAULT_BREAKER_WINDOW_MS
    )
    breaker_open_ms: Span = variable("HUBSPOT_BREAKER_OPEN_MS", default=DEFAULT_BREAKER_OPEN_MS)
    breaker_probe_ms: Span = variable("HUBSPOT_BREAKER_PROBE_MS", default=DEFAULT_PROBE_TIMEOUT_MS)

    def config(self) -> LimitConfig:
        """The limiter's config: the tier's burst and daily limits (HUBSPOT_DAILY_LIMIT, when
        set, replaces the daily one) with the rest of this section."""
        overrides: dict[str, Any] = {
            "timezone": self.timezone,
            "window_margin_ms": self.window_margin_ms,
            "refill_ms": self.bucket_refill_ms,
            "search_limit": self.search_per_second,
            "cooldown_ms": self.cooldown_ms,
            "breaker_failures": self.breaker_failures,
            "breaker_window_ms": self.breaker_window_ms,
            "breaker_open_ms": self.breaker_open_ms,
            "probe_timeout_ms": self.breaker_probe_ms,
            "buckets": {
                kind: capacity
                for kind in OBJECT_KINDS
                if (capacity := getattr(self, f"bucket_{kind}")) is not None
            },
        }
        if self.daily_limit is not None:
            overrides["daily_limit"] = self.daily_limit or None
        return LimitConfig.for_tier(self.tier, **overrides)
