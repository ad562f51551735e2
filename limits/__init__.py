"""Rate-limit state for HubSpot accounts, kept atomically in Redis by Lua scripts.

Knows nothing of jobs or CRMs' payloads: it admits or refuses requests of a *kind* for an
*account* and learns from what the requests met. The public surface:

- :class:`Limiter` — ``acquire``, ``report``, ``state``, ``reset``;
- :class:`LimitConfig` — the limits (``LimitConfig.for_tier(190)``);
- the values: :class:`Decision`, :class:`Reason`, :class:`Outcome`, :class:`Policy`,
  :class:`Usage`, :class:`ReportEffect`, :class:`LimiterState`, :class:`BreakerState`;
- the errors in :mod:`limits.errors`.

Its Lua scripts are in ``lua/``, loaded by :mod:`core.lua`; time comes from a
:class:`core.clock.Clock` (``now_ms`` arguments override it per call).
"""

from limits.config import KINDS, OBJECT_KINDS, OTHER, SEARCH, TIERS, LimitConfig
from limits.errors import CostTooLarge, LimitConfigError, LimitsError, UnknownKind
from limits.keys import PortalKeys
from limits.limiter import Limiter
from limits.types import (
    BreakerState,
    BucketState,
    Decision,
    LimiterEvent,
    LimiterState,
    Outcome,
    Policy,
    Reason,
    ReportEffect,
    Usage,
)

__all__ = [
    "KINDS",
    "OBJECT_KINDS",
    "OTHER",
    "SEARCH",
    "TIERS",
    "BreakerState",
    "BucketState",
    "CostTooLarge",
    "Decision",
    "LimitConfig",
    "LimitConfigError",
    "Limiter",
    "LimiterEvent",
    "LimiterState",
    "LimitsError",
    "Outcome",
    "Policy",
    "PortalKeys",
    "Reason",
    "ReportEffect",
    "UnknownKind",
    "Usage",
]
