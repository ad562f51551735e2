"""A per-user call limiter kept in Redis (the replay endpoint's 5 calls per 30 s).

One ``lua/throttle-1.lua`` call per request: a sliding window of the user's recent calls, so the
limit holds across every API process. Dry runs count too, which discourages scripted hammering.
"""

from __future__ import annotations

import secrets
from typing import Any

from api.keys import UserKeys
from core.clock import Clock
from core.lua import Scripts

REPLAY_CALLS = 5
REPLAY_WINDOW_MS = 30_000


class CallLimiter:
    def __init__(
        self,
        scripts: Scripts,
        *,
        clock: Clock,
        key_prefix: str,
        limit: int = REPLAY_CALLS,
        window_ms: int = REPLAY_WINDOW_MS,
    ) -> None:
        self._scripts = scripts
        self._clock = clock
        self.limit = limit
        self.window_ms = window_ms
        self._prefix = key_prefix

    async def take(self, user_id: int) -> int:
        """Record one call by ``user_id``: 0 when allowed, else the ms to wait before retrying."""
        keys = UserKeys(user_id, self._prefix)
        reply: Any = await self._scripts.run(
            "throttle",
            [keys.replay_calls],
            [self._clock.now_ms(), self.window_ms, self.limit, secrets.token_hex(8)],
        )
        return int(reply)
