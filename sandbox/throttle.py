"""The sandbox's rate limits: a rolling burst window per token, a daily budget per account and
a per-second search limit, answered with HubSpot's 429 bodies and rate-limit headers.

It also measures what a client did: requests received per token in any window (``peak``, the
number that must never exceed the limit), and 429s by policy.
"""

from __future__ import annotations

import zlib
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox import bodies
from sandbox.config import SandboxConfig


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request passes, and the headers its response carries either way."""

    allowed: bool
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    policy: str | None = None


def _count_since(times: deque[int], since: int) -> int:
    """How many entries of a time-ordered deque are later than ``since``."""
    count = 0
    for moment in reversed(times):
        if moment <= since:
            break
        count += 1
    return count


@dataclass(slots=True)
class Throttle:
    """Rolling windows keyed by token; counts in (now - window, now], like HubSpot's."""

    admitted: dict[str, deque[int]] = field(default_factory=dict)
    received: dict[str, deque[int]] = field(default_factory=dict)
    searches: deque[int] = field(default_factory=deque)
    daily_used: int = 0
    daily_reset_at: int = 0
    peak: int = 0
    peak_admitted: int = 0
    limited: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.admitted.clear()
        self.received.clear()
        self.searches.clear()
        self.daily_used = self.daily_reset_at = self.peak = self.peak_admitted = 0
        self.limited.clear()

    def _roll_daily(self, now: int, config: SandboxConfig) -> None:
        if now < self.daily_reset_at:
            return
        zone = ZoneInfo(config.time_zone)
        local = datetime.fromtimestamp(now / 1000, tz=UTC).astimezone(zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
        self.daily_used = 0
        self.daily_reset_at = int(midnight.timestamp() * 1000)

    @staticmethod
    def _trim(times: deque[int], since: int) -> None:
        while times and times[0] <= since:
            times.popleft()

    def admit(self, token: str, now: int, config: SandboxConfig) -> Verdict:
        """Count one API request of ``token`` (not a search)."""
        self._roll_daily(now, config)
        since = now - config.window_ms
        received = self.received.setdefault(token, deque())
        self._trim(received, since)
        received.append(now)
        self.peak = max(self.peak, len(received))
        admitted = self.admitted.setdefault(token, deque())
        self._trim(admitted, since)
        app_id = zlib.crc32(token.encode()) % 10_000_000
        if config.daily_limit and self.daily_used >= config.daily_limit:
            return self._refuse("DAILY", bodies.daily(), admitted, now, config)
        if len(admitted) >= config.tier:
            return self._refuse(
                "TEN_SECONDLY_ROLLING",
                bodies.ten_secondly(config.portal_id, app_id),
                admitted,
                now,
                config,
            )
        admitted.append(now)
        self.daily_used += 1
        self.peak_admitted = max(self.peak_admitted, len(admitted))
        return Verdict(True, self.headers(admitted, now, config))

    def _refuse(
        self,
        policy: str,
        body: dict[str, Any],
        admitted: deque[int],
        now: int,
        config: SandboxConfig,
    ) -> Verdict:
        self.limited[policy] += 1
        headers = self.headers(admitted, now, config)
        if config.retry_after_s is not None:
            headers["Retry-After"] = str(config.retry_after_s)
        return Verdict(False, headers, body, policy)

    def admit_search(self, now: int, config: SandboxConfig) -> Verdict:
        """Count one search: its own per-second limit, no rate-limit headers (research §4.2)."""
        self._roll_daily(now, config)
        self._trim(self.searches, now - 1_000)
        if len(self.searches) >= config.search_per_second:
            self.limited["SECONDLY"] += 1
            headers = {}
            if config.retry_after_s is not None:
                headers["Retry-After"] = str(config.retry_after_s)
            return Verdict(False, headers, bodies.search_secondly(), "SECONDLY")
        self.searches.append(now)
        self.daily_used += 1
        return Verdict(True, {})

    def headers(self, admitted: deque[int], now: int, config: SandboxConfig) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers after this request (research §4.2)."""
        secondly = max(1, config.tier // 10)
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(config.window_ms),
            "X-HubSpot-RateLimit-Max": str(config.tier),
            "X-HubSpot-RateLimit-Remaining": str(max(0, config.tier - len(admitted))),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(
                max(0, secondly - _count_since(admitted, now - 1_000))
            ),
        }
        if config.daily_limit:
            headers["X-HubSpot-RateLimit-Daily"] = str(config.daily_limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                max(0, config.daily_limit - self.daily_used)
            )
        return headers
