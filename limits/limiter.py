"""The rate limiter: HubSpot's limits per account, shared by every process through Redis.

Each call is one Lua script on the account's ``{p<portal>}`` keys, so concurrent workers on
any number of machines see one consistent state::

    limiter = Limiter(redis, LimitConfig.for_tier(190))
    await limiter.load()                                   # at boot: scripts checked and loaded
    decision = await limiter.acquire("4411", "contact", cost=100, sender="17")
    if not decision.allowed:
        reschedule(after_ms=decision.wait_ms)              # decision.reason says why
    ...                                                    # send the request, then:
    await limiter.report("4411", Outcome.OK, usage=usage, acquired_at_ms=decision.at_ms)

Guarantees, for requests that go through :meth:`acquire`:

- the burst window never admits more than the limit in any span of ``window_ms`` plus the
  safety margin, whatever the number of processes (admissions are logged, not estimated); the
  margin is learnt from HubSpot's answers, between its floor (or the longest recent round trip)
  and its cap, and goes back to the cap when HubSpot counts more than we did or answers a
  ten-secondly 429;
- senders (simulations) sharing an account's burst window get equal shares of it while they
  all want more than that; a sender alone, or beside idle or served ones, gets all of it;
- each kind's bucket never goes below zero, and refills at its capacity per refill period;
- nothing is admitted during a 429 cooldown, nor while the breaker is open; in half-open state
  exactly one request (the probe) is admitted until it is reported or its timeout passes;
- no more than the daily limit is admitted between two daily resets.

Time is an argument: every method takes ``now_ms`` (epoch ms), defaulting to the injected clock.
"""

from __future__ import annotations

from typing import Any, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from core.clock import Clock, SystemClock
from core.lua import Scripts, lua_folder
from limits.config import REPORT_HORIZON_MS, SEARCH, LimitConfig
from limits.errors import CostTooLarge
from limits.keys import PortalKeys
from limits.types import (
    BreakerState,
    BucketState,
    Decision,
    LimiterEvent,
    LimiterState,
    Outcome,
    Policy,
    Reason,
    ReasonCode,
    ReportEffect,
    Usage,
)

RedisClient: TypeAlias = "Redis | RedisCluster"
log = structlog.get_logger("limits")


def _opt(value: int | None) -> int:
    return -1 if value is None else value


class Limiter:
    """Acquire, report and inspect the limits of HubSpot accounts (see the module docstring)."""

    def __init__(
        self, redis: RedisClient, config: LimitConfig, *, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._scripts = Scripts(redis, lua_folder("limits"))
        self._redis = redis
        self._clock: Clock = clock or SystemClock()
        self._zones: dict[str, str] = {}  # portal → its IANA time zone, when told

    async def set_time_zone(self, portal: str, zone: str, now_ms: int | None = None) -> None:
        """Reset ``portal``'s daily budget at midnight in ``zone`` (HubSpot resets an account's
        daily limit in the account's own time zone); until told, the config's zone is used.
        A reset already scheduled in another zone is moved to this one's next midnight. A name
        that is no IANA zone is ignored, with a warning."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("portal_time_zone_unknown", portal=portal, time_zone=zone)
            return
        if self._zones.get(portal) == zone:
            return
        self._zones[portal] = zone
        state = PortalKeys(portal).state
        scheduled = await self._redis.hget(state, "daily_reset_at")
        if scheduled is not None:
            now = self._now(now_ms)
            moved: list[str | int] = ["daily_reset_at", self.config.next_daily_reset_ms(now, zone)]
            if now >= int(scheduled):  # the reset is due and not yet made: make it
                moved += ["daily_used", 0]
            await self._redis.hset(state, items=moved)

    def time_zone(self, portal: str) -> str:
        """The zone ``portal``'s daily budget resets in."""
        return self._zones.get(portal, self.config.timezone)

    async def load(self) -> None:
        """Load the Lua scripts into Redis; raises core's ScriptError when one is refused."""
        await self._scripts.load()

    def _now(self, now_ms: int | None) -> int:
        return self._clock.now_ms() if now_ms is None else now_ms

    async def acquire(
        self,
        portal: str,
        kind: str,
        cost: int = 1,
        now_ms: int | None = None,
        *,
        sender: str | None = None,
    ) -> Decision:
        """Take one request for ``portal``, of ``kind``, costing ``cost`` bucket units.

        ``kind`` is an object type (``contact`` … ``task``: burst window plus that type's bucket),
        ``search`` (the search window) or ``other`` (burst window only). A batch of n records is
        one request costing n. Nothing is taken when the answer is a refusal.

        ``sender`` names who asks (a simulation): senders of one account share its burst window
        fairly — one that holds its share while another wants room is refused with
        :attr:`Reason.SHARE`, to wait until enough of its own admissions have left the window
        to bring it below its share. Requests without a sender count in the window but take no
        part in the sharing.

        Raises:
            UnknownKind: ``kind`` is none of the above.
            CostTooLarge: ``cost`` is below 1 or above the bucket's capacity.
        """
        config = self.config
        capacity = config.bucket_capacity(kind)
        if cost < 1 or (capacity and cost > capacity):
            raise CostTooLarge(
                f"cost must be from 1 to {capacity or 'any'} for {kind} (got {cost})"
            )
        if sender is not None and not sender:
            raise ValueError("sender must be a non-empty name, or None")
        now = self._now(now_ms)
        keys = PortalKeys(portal)
        search = kind == SEARCH
        raw = await self._scripts.run(
            "acquire",
            [keys.search if search else keys.window, keys.state, keys.senders, keys.wanting],
            [
                now,
                config.search_limit if search else config.window_limit,
                config.search_window_ms if search else config.window_ms,
                kind if capacity else "",
                capacity,
                config.refill_ms,
                cost,
                config.daily_limit or 0,
                config.next_daily_reset_ms(now, self._zones.get(portal)),
                "search_cooldown_until" if search else "cooldown_until",
                config.probe_timeout_ms,
                config.idle_ttl_ms,
                "0" if search else "1",
                0 if search else REPORT_HORIZON_MS,
                config.window_margin_ms,
                sender or "",
                config.active_sender_ms,
            ],
        )
        allowed, wait, extra = (int(value) for value in raw)
        if allowed:
            return Decision(True, 0, None, now, probe=bool(extra))
        return Decision(False, wait, ReasonCode(extra).reason, now)

    async def report(
        self,
        portal: str,
        outcome: Outcome,
        *,
        policy: Policy | None = None,
        retry_after_ms: int | None = None,
        usage: Usage | None = None,
        acquired_at_ms: int | None = None,
        kind: str | None = None,
        now_ms: int | None = None,
    ) -> ReportEffect:
        """Tell the limiter what an admitted request met.

        Args:
            outcome: OK for any answer but a 429 or a server failure; RATE_LIMITED for a 429,
                with its ``policy`` (WINDOW when the body names none) and ``retry_after_ms``
                when the response had Retry-After; FAILED for 5xx, timeouts and lost
                connections (they feed the circuit breaker).
            usage: the ``X-HubSpot-RateLimit-*`` values, when the response carried them.
            acquired_at_ms: ``Decision.at_ms`` of the request: lets HubSpot's count be compared
                with ours, tells the half-open probe's answer from late answers, and times the
                round trip that the learnt margin may not undercut.
            kind: the request's kind as acquired; a search's round trip (searches are not in
                the burst window) does not bound the margin.
        """
        config = self.config
        now = self._now(now_ms)
        keys = PortalKeys(portal)
        usage = usage or Usage()
        raw = await self._scripts.run(
            "report",
            [keys.window, keys.failures, keys.state],
            [
                now,
                outcome.value,
                (policy or Policy.WINDOW).value if outcome is Outcome.RATE_LIMITED else "",
                _opt(retry_after_ms),
                config.cooldown_ms,
                config.search_cooldown_ms,
                config.next_daily_reset_ms(now, self._zones.get(portal)),
                _opt(acquired_at_ms),
                config.window_ms,
                _opt(usage.window_max),
                _opt(usage.window_remaining),
                _opt(usage.daily_max),
                _opt(usage.daily_remaining),
                config.breaker_failures,
                config.breaker_window_ms,
                config.breaker_open_ms,
                config.idle_ttl_ms,
                REPORT_HORIZON_MS,
                config.window_margin_ms,
                config.margin_floor_ms,
                config.window_margin_step_ms,
                "0" if kind == SEARCH else "1",
            ],
        )
        event, open_until, cooldown_until = (int(value) for value in raw)
        effect = ReportEffect(LimiterEvent(event), open_until, cooldown_until)
        self._log(portal, effect, policy, now)
        return effect

    @staticmethod
    def _log(portal: str, effect: ReportEffect, policy: Policy | None, now: int) -> None:
        if effect.event is LimiterEvent.BREAKER_OPENED:
            log.warning("breaker_opened", portal=portal, open_ms=effect.breaker_open_until_ms - now)
        elif effect.event is LimiterEvent.BREAKER_REOPENED:
            log.warning(
                "breaker_probe_failed", portal=portal, open_ms=effect.breaker_open_until_ms - now
            )
        elif effect.event is LimiterEvent.BREAKER_CLOSED:
            log.info("breaker_closed", portal=portal)
        elif effect.event is LimiterEvent.COOLDOWN:
            log.warning(
                "rate_limit_cooldown",
                portal=portal,
                policy=str(policy or Policy.WINDOW),
                cooldown_ms=max(0, effect.cooldown_until_ms - now),
            )

    async def state(self, portal: str, now_ms: int | None = None) -> LimiterState:
        """A read-only snapshot of ``portal``'s limits: windows (with the learnt margin and the
        senders sharing the burst window), buckets, daily use, cooldown, breaker. An account
        never seen reads as fresh (full buckets, margin at its cap, breaker closed)."""
        config = self.config
        now = self._now(now_ms)
        keys = PortalKeys(portal)
        kinds = list(config.buckets)
        bucket_args: list[Any] = []
        for kind in kinds:
            bucket_args += [kind, config.buckets[kind]]
        raw = await self._scripts.run(
            "state",
            list(keys.all()),
            [
                now,
                config.window_ms,
                config.search_window_ms,
                config.breaker_window_ms,
                config.refill_ms,
                config.window_margin_ms,
                config.active_sender_ms,
                *bucket_args,
            ],
        )
        values = [int(value) for value in raw]
        (
            window_used, search_used, failures, open_until, _probe_until, cooldown_until,
            cooldown_daily, search_cooldown_until, daily_used, daily_reset_at, window_max,
            daily_max, trips, margin, senders, wanting,
        ) = values[:16]  # fmt: skip
        tokens = values[16:]
        if open_until == 0:
            breaker = BreakerState.CLOSED
        elif now < open_until:
            breaker = BreakerState.OPEN
        else:
            breaker = BreakerState.HALF_OPEN
        window_limit = min(config.window_limit, window_max) if window_max else config.window_limit
        daily_limit = config.daily_limit
        if daily_limit is not None and daily_max:
            daily_limit = min(daily_limit, daily_max)
        cooling = cooldown_until > now
        return LimiterState(
            portal=portal,
            at_ms=now,
            window_limit=window_limit,
            window_used=window_used,
            window_ms=config.window_ms + margin,
            window_margin_ms=margin,
            window_senders=senders,
            window_wanting=wanting,
            search_limit=config.search_limit,
            search_used=search_used,
            daily_limit=daily_limit,
            daily_used=daily_used,
            daily_reset_at_ms=daily_reset_at if daily_reset_at > now else None,
            buckets={
                kind: BucketState(tokens=count, capacity=config.buckets[kind])
                for kind, count in zip(kinds, tokens, strict=True)
            },
            cooldown_until_ms=cooldown_until if cooling else None,
            cooldown_reason=(Reason.DAILY if cooldown_daily else Reason.COOLDOWN)
            if cooling
            else None,
            search_cooldown_until_ms=search_cooldown_until if search_cooldown_until > now else None,
            breaker=breaker,
            breaker_open_until_ms=open_until or None,
            recent_failures=failures,
            breaker_trips=trips,
        )

    async def reset(self, portal: str) -> None:
        """Forget everything about ``portal``: windows, buckets, cooldown and breaker.

        For operators (a breaker known to be stuck, a test portal); normal operation never needs it.
        """
        keys = PortalKeys(portal)
        for key in keys.all():
            await self._redis.delete(key)
        log.info("limits_reset", portal=portal)
