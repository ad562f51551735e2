"""Thinning events: each decision to skip optional work, kept newest first in a capped list."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import orjson

from engine.runtime.keys import SimKeys


@dataclass(frozen=True, slots=True)
class ThinningEvent:
    """One thinning decision: of ``before`` planned activities, ``after`` were kept."""

    at: int  # epoch ms
    before: int
    after: int
    factor: float
    total_waiting: int  # jobs ready or due soon when the decision was made
    reason: str  # "backlog" or "breaker"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["totalWaiting"] = data.pop("total_waiting")
        return data


def record(pipe: Any, keys: SimKeys, event: ThinningEvent, keep: int) -> None:
    """Queue the LPUSH + LTRIM that store ``event`` on a pipeline."""
    pipe.lpush(keys.thinning, orjson.dumps(event.to_json()))
    pipe.ltrim(keys.thinning, 0, keep - 1)


async def read(redis: Any, keys: SimKeys, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` events, newest first."""
    raw = await redis.lrange(keys.thinning, 0, limit - 1)
    return [orjson.loads(item) for item in raw]
