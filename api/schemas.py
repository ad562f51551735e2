"""Response models shared by several routes, and the camelCase base of computed payloads.

Simulations keep the field names they are created with (``start_time``, ``total_records`` …, SPEC
§3), so a read body can be sent back as a create body. Everything computed — metrics, limiter
state, dead letters, replay — is camelCase, as the original API's clients expect (``dryRun``,
``retryAfterMs``, ``totalWaiting``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from limits import BreakerState, LimiterState

Source = Literal["redis", "db", "redis-disabled"]


class Camel(BaseModel):
    """Serialised (and accepted) with camelCase names; Python code uses snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Window(Camel):
    limit: int
    used: int
    ms: int = Field(description="HubSpot's window plus the margin learnt so far")
    margin_ms: int = Field(description="the safety margin learnt from HubSpot's answers")
    senders: int = Field(description="simulations that asked for this window recently")
    wanting: int = Field(description="of those, the ones refused room recently")
    share: int = Field(description="each sender's fair share while all want more")


class Usage(Camel):
    limit: int | None
    used: int
    reset_at_ms: int | None = None


class Bucket(Camel):
    tokens: int
    capacity: int


class Cooldown(Camel):
    until_ms: int | None
    reason: str | None
    search_until_ms: int | None


class Breaker(Camel):
    state: BreakerState
    open_until_ms: int | None
    recent_failures: int
    trips: int


class LimiterView(Camel):
    """One HubSpot account's limits: burst window, search, daily use, buckets, cooldown, breaker."""

    portal: str
    at_ms: int
    window: Window
    search: Usage
    daily: Usage
    buckets: dict[str, Bucket]
    cooldown: Cooldown
    breaker: Breaker

    @classmethod
    def of(cls, state: LimiterState) -> LimiterView:
        return cls.model_validate(state.to_json())
