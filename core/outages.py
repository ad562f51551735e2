"""Outages of a dependency (Redis, the database) as a log reader wants them: one line when it goes
away, one when it is back, and nothing per failed attempt in between.

Every loop that talks to the dependency reports to the same :class:`Dependency`::

    try:
        await redis.xreadgroup(...)
    except ConnectionError as exc:
        outages.redis.failed(exc)        # `dependency_unavailable` once the failures last 1 s
        await asyncio.sleep(pause)
    else:
        outages.redis.succeeded()        # logs `dependency_recovered` once, when it was away

A blip is not an outage: failures that end within :data:`ANNOUNCE_AFTER_MS` (pooled connections
from before a server restart failing once each, say) log nothing. Past that,
``dependency_unavailable`` (warning) names the dependency and the first error (its type and the
first line of its message, no traceback); ``dependency_recovered`` says how long it was
away (``down_ms``) and how many attempts failed meanwhile (``failures``); both are warnings, so
a log filtered to warnings shows every outage with its end. Several loops failing
at once still make one line each way. The clock only measures the outage; nothing here waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from core.clock import Clock, SystemClock

log = structlog.get_logger("outages")

ERROR_CHARS = 200
ANNOUNCE_AFTER_MS = 1_000


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, clipped: enough to tell causes apart, never a
    traceback nor a driver's echo of a statement and its parameters on later lines."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:ERROR_CHARS]


@dataclass(slots=True)
class Dependency:
    """The availability of one dependency, as the attempts to use it found it."""

    name: str
    clock: Clock = field(default_factory=SystemClock)
    announce_after_ms: int = ANNOUNCE_AFTER_MS
    down_since_ms: int | None = None
    failures: int = 0
    first_error: str = ""
    announced: bool = False

    @property
    def away(self) -> bool:
        return self.down_since_ms is not None

    def failed(self, exc: BaseException) -> None:
        """An attempt failed because the dependency is unreachable (not for a bad command)."""
        now = self.clock.now_ms()
        self.failures += 1
        if self.down_since_ms is None:
            self.down_since_ms = now
            self.first_error = describe(exc)
        if not self.announced and now - self.down_since_ms >= self.announce_after_ms:
            self.announced = True
            log.warning("dependency_unavailable", dependency=self.name, error=self.first_error)

    def succeeded(self) -> None:
        """An attempt worked: ends the outage (logged if it was announced) or the blip."""
        if self.down_since_ms is None:
            return
        if self.announced:
            log.warning(
                "dependency_recovered",
                dependency=self.name,
                down_ms=max(0, self.clock.now_ms() - self.down_since_ms),
                failures=self.failures,
            )
        self.down_since_ms = None
        self.failures = 0
        self.announced = False


@dataclass(frozen=True, slots=True)
class Outages:
    """One process's view of its dependencies; built once by whoever owns the connections."""

    redis: Dependency
    database: Dependency

    @classmethod
    def create(cls, clock: Clock | None = None) -> Outages:
        clock = clock or SystemClock()
        return cls(Dependency("redis", clock), Dependency("database", clock))
