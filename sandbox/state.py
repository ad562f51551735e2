"""Everything one running sandbox holds: its configuration, portals, RNGs and the clock."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.adversary import Adversary
from sandbox.config import Fault, PortalConfig, SandboxConfig
from sandbox.hubspot import wall_clock_ms
from sandbox.portal import Portal, effective
from sandbox.stats import SandboxStats
from sandbox.store import SandboxStore
from sandbox.throttle import Throttle

__all__ = ["SandboxState", "SandboxStats"]


@dataclass(slots=True)
class SandboxState:
    """The default portal (any accepted token not declared by a portal reaches it) and the
    portals of ``config.portals``, keyed by token."""

    config: SandboxConfig
    clock: Callable[[], int] = wall_clock_ms
    adversary: Adversary = field(init=False)
    default: Portal = field(init=False)
    by_token: dict[str, Portal] = field(init=False)
    fault_rng: random.Random = field(init=False)
    latency_rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.adversary = Adversary(self.config.seed)
        self.default = Portal(self.config, self.clock, self.adversary)
        self.by_token = {}
        self._declare(self.config.portals)
        self._reseed()

    def _reseed(self) -> None:
        self.fault_rng = random.Random(f"{self.config.seed}:faults")
        self.latency_rng = random.Random(f"{self.config.seed}:latency")
        self.adversary.reseed(self.config.seed)

    def _declare(self, declared: tuple[PortalConfig, ...]) -> None:
        """Keep the portals still declared (with their objects), add new ones, drop the rest."""
        kept: dict[str, Portal] = {}
        for settings in declared:
            portal = self.by_token.get(settings.token)
            if portal is None or portal.portal_id != settings.portal_id:
                portal = Portal(self.config, self.clock, self.adversary, settings)
            portal.settings = settings
            kept[settings.token] = portal
        self.by_token = kept
        self._refresh()

    def _refresh(self) -> None:
        self.default.config = self.config
        for portal in self.by_token.values():
            portal.config = effective(self.config, portal.settings)

    # -- the default portal, as a single-portal sandbox has always exposed it ----------------

    @property
    def store(self) -> SandboxStore:
        return self.default.store

    @property
    def throttle(self) -> Throttle:
        return self.default.throttle

    @property
    def requests(self) -> int:
        """API requests received, over every portal."""
        return sum(p.requests for p in self.portals())

    @property
    def statuses(self) -> Counter[int]:
        """Answers given by status, over every portal (a request still in flight has none)."""
        total: Counter[int] = Counter()
        for portal in self.portals():
            total.update(portal.statuses)
        return total

    # -- portals -------------------------------------------------------------------------------

    def portals(self) -> list[Portal]:
        return [self.default, *self.by_token.values()]

    def portal_for(self, token: str) -> Portal | None:
        """The portal ``token`` reaches, or None when it does not authenticate."""
        if (portal := self.by_token.get(token)) is not None:
            return portal
        config = self.config
        if config.tokens and token not in config.tokens:
            return None
        return self.default

    def find(self, portal_id: int) -> Portal | None:
        return next((p for p in self.portals() if p.portal_id == portal_id), None)

    def now(self) -> int:
        return self.clock()

    def reconfigure(self, **changes: Any) -> SandboxConfig:
        """Change knobs while running (limits, latency, faults, portals …); a new seed restarts
        the RNGs."""
        self.config = self.config.updated(**changes)
        if "portals" in changes:
            self._declare(self.config.portals)
        self._refresh()
        if "seed" in changes:
            self._reseed()
        return self.config

    def reconfigure_portal(self, portal_id: int, **changes: Any) -> PortalConfig:
        """Change one declared portal's tier, daily limit or time zone."""
        declared = list(self.config.portals)
        for index, settings in enumerate(declared):
            if settings.portal_id == portal_id:
                fields = {
                    "token": settings.token,
                    "portal_id": portal_id,
                    "tier": settings.tier,
                    "daily_limit": settings.daily_limit,
                    "time_zone": settings.time_zone,
                    **changes,
                }
                declared[index] = PortalConfig(**fields)
                self.reconfigure(portals=tuple(declared))
                return declared[index]
        raise ValueError(f"no declared portal has id {portal_id}")

    def reset(self) -> None:
        """Forget every object, property, count and window of every portal."""
        for portal in self.portals():
            portal.reset()
        self._reseed()

    def draw_fault(self) -> Fault | None:
        config = self.config
        if config.error_rate <= 0 or self.fault_rng.random() >= config.error_rate:
            return None
        return self.fault_rng.choice(config.faults)

    def latency_s(self) -> float:
        config = self.config
        jitter = (
            self.latency_rng.uniform(0, config.latency_jitter_ms) if config.latency_jitter_ms else 0
        )
        return (config.latency_ms + jitter) / 1000

    def stats(self) -> SandboxStats:
        """Figures summed over the portals, with each portal's own under ``portals``."""
        return SandboxStats.combined(
            {str(p.portal_id): p.stats() for p in self.portals()}, self.config.tier
        )
