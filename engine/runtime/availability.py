"""Which failures mean a dependency is away, and waiting for one at start-up.

The daemon's loops tell an outage of Redis or of the database (the server down, frozen, locked
past the timeout, a link dropped) from a bug: an outage goes to :class:`~core.outages.Outages`
— one line when it starts, one when it ends — and the work is simply tried again; anything else
is logged with its traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as db_errors

from core.outages import Dependency, Outages

T = TypeVar("T")

RETRY_PAUSES_S = (0.5, 1.0, 2.0, 5.0)  # between start-up attempts; the last one repeats

REDIS_AWAY: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
DATABASE_AWAY: tuple[type[BaseException], ...] = (
    db_errors.OperationalError,  # locked past the busy timeout, refused, lost
    db_errors.InterfaceError,
    db_errors.TimeoutError,  # no pooled connection came free in time
)


class StartAborted(Exception):
    """A stop was requested while the daemon was still waiting for a dependency."""


def away(outages: Outages, exc: BaseException) -> Dependency | None:
    """The dependency ``exc`` says is away (its failure counted), or None for another error."""
    if isinstance(exc, DATABASE_AWAY):
        outages.database.failed(exc)
        return outages.database
    if isinstance(exc, REDIS_AWAY):
        outages.redis.failed(exc)
        return outages.redis
    return None


async def when_available(
    dependency: Dependency,
    attempt: Callable[[], Awaitable[T]],
    away_errors: tuple[type[BaseException], ...],
    stop: asyncio.Event,
) -> T:
    """``attempt()``'s result, trying again after a pause while it fails with ``away_errors``
    (one log line when the dependency is first found away, one when it answers).

    Raises:
        StartAborted: ``stop`` was set while waiting.
    """
    pauses = iter(RETRY_PAUSES_S)
    pause = RETRY_PAUSES_S[0]
    while True:
        try:
            result = await attempt()
        except away_errors as exc:
            dependency.failed(exc)
        else:
            dependency.succeeded()
            return result
        pause = next(pauses, pause)
        try:
            await asyncio.wait_for(stop.wait(), pause)
        except TimeoutError:
            continue
        raise StartAborted(f"stopped while waiting for {dependency.name}")
