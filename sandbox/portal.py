"""One HubSpot account in the sandbox: its settings, objects, properties, pipelines, rate-limit
windows and counters. A sandbox serves a default portal and any number declared by token."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.adversary import Adversary
from sandbox.config import PortalConfig, SandboxConfig
from sandbox.hubspot import ObjectType
from sandbox.stats import SandboxStats
from sandbox.store import SandboxStore
from sandbox.throttle import Throttle


def effective(config: SandboxConfig, settings: PortalConfig | None) -> SandboxConfig:
    """The sandbox-wide ``config`` with a portal's own id, tier, daily limit and time zone."""
    if settings is None:
        return config
    return config.updated(
        portal_id=settings.portal_id,
        tier=config.tier if settings.tier is None else settings.tier,
        daily_limit=config.daily_limit if settings.daily_limit is None else settings.daily_limit,
        time_zone=settings.time_zone or config.time_zone,
        portals=(),
    )


@dataclass(slots=True)
class Portal:
    """A portal's state. ``config`` is the sandbox's config as this portal sees it."""

    config: SandboxConfig
    clock: Callable[[], int]
    adversary: Adversary
    settings: PortalConfig | None = None
    store: SandboxStore = field(default_factory=SandboxStore)
    throttle: Throttle = field(default_factory=Throttle)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    lifecycle_ignored: int = 0
    batch_calls: Counter[str] = field(default_factory=Counter)
    batch_inputs: Counter[str] = field(default_factory=Counter)

    def now(self) -> int:
        return self.clock()

    @property
    def portal_id(self) -> int:
        return self.config.portal_id

    def reset(self) -> None:
        """Forget every object, property, pipeline, count and window, as a fresh portal."""
        self.store = SandboxStore()
        self.throttle = Throttle()
        self.requests = self.conflicts = self.lifecycle_ignored = 0
        for counter in (self.statuses, self.faults, self.batch_calls, self.batch_inputs):
            counter.clear()

    def count_batch(self, call: str, inputs: int) -> None:
        """Note one batch call (``"notes/create"``) that carried ``inputs`` inputs."""
        self.batch_calls[call] += 1
        self.batch_inputs[call] += inputs

    def stats(self) -> SandboxStats:
        store, throttle = self.store, self.throttle
        return SandboxStats(
            objects={
                t.path: sum(not o.archived for o in store.objects[t].values()) for t in ObjectType
            },
            duplicates={t.path: store.duplicates[t] for t in ObjectType},
            requests=self.requests,
            statuses={str(code): count for code, count in sorted(self.statuses.items())},
            rate_limited={
                policy: throttle.limited[policy]
                for policy in ("TEN_SECONDLY_ROLLING", "DAILY", "SECONDLY")
            },
            peak_10s=throttle.peak,
            peak_10s_admitted=throttle.peak_admitted,
            limit_10s=self.config.tier,
            daily_used=throttle.daily_used,
            faults={name: count for name, count in sorted(self.faults.items()) if count},
            conflicts=self.conflicts,
            batches={
                call: {"calls": calls, "inputs": self.batch_inputs[call]}
                for call, calls in sorted(self.batch_calls.items())
            },
            lifecycle_ignored=self.lifecycle_ignored,
        )
