"""Whether a remembered API key is still good: one counter in Redis that every change bumps.

The API remembers a key it has checked for a few seconds (:mod:`api.auth`). Rotating or revoking
a key, or disabling or enabling a user — through this API, another API process or ``simcrm keys``
/ ``simcrm users`` — bumps ``<prefix>:auth:epoch``. Every request reads the counter (one GET) and
a key remembered under an older value is checked in the database again, so the change holds on
the very next request everywhere. With Redis away nothing is remembered: every request reads the
database.
"""

from __future__ import annotations

from typing import Any

import structlog

from api.keys import auth_epoch_key
from api.live import UNREACHABLE

log = structlog.get_logger()


class KeyEpoch:
    """The auth epoch of one deployment (``prefix`` is its SIMCRM_KEY_PREFIX)."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self.key = auth_epoch_key(prefix)

    async def current(self) -> int | None:
        """The epoch now, or None when Redis does not answer (remember nothing then)."""
        try:
            raw = await self._redis.get(self.key)
        except UNREACHABLE:
            return None
        return int(raw) if raw is not None else 0

    async def bump(self) -> bool:
        """Make every remembered key be checked again; False when Redis did not answer (other
        API processes then trust what they remember for at most a few seconds more)."""
        try:
            await self._redis.incr(self.key)
        except UNREACHABLE as exc:
            log.warning("auth_epoch_not_bumped", error=type(exc).__name__)
            return False
        return True
