"""Everything one running sandbox holds: its configuration, store, throttle, RNGs, counters."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.config import Fault, SandboxConfig
from sandbox.hubspot import ObjectType, wall_clock_ms
from sandbox.store import SandboxStore
from sandbox.throttle import Throttle


@dataclass(frozen=True, slots=True)
class SandboxStats:
    """What ``GET /__sandbox/stats`` reports.

    ``requests`` counts API requests (not ``/__sandbox``); ``peak_10s`` is the most requests one
    token sent within any rolling window (429s included), ``peak_10s_admitted`` the most it was
    allowed; ``rate_limited`` counts 429s by policy; ``batches`` counts batch calls and their
    inputs by object type and operation (``"notes/create": {"calls": 3, "inputs": 250}``;
    association calls as ``"associations/notes-contacts"``), which shows how full the batches a
    client sends are.
    """

    objects: dict[str, int]
    duplicates: dict[str, int]
    requests: int
    statuses: dict[str, int]
    rate_limited: dict[str, int]
    peak_10s: int
    peak_10s_admitted: int
    limit_10s: int
    daily_used: int
    faults: dict[str, int]
    conflicts: int
    batches: dict[str, dict[str, int]]

    @property
    def duplicates_total(self) -> int:
        return sum(self.duplicates.values())

    @property
    def rate_limited_total(self) -> int:
        return sum(self.rate_limited.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "duplicates": self.duplicates,
            "duplicates_total": self.duplicates_total,
            "requests": self.requests,
            "statuses": self.statuses,
            "rate_limited": self.rate_limited,
            "rate_limited_total": self.rate_limited_total,
            "peak_10s": self.peak_10s,
            "peak_10s_admitted": self.peak_10s_admitted,
            "limit_10s": self.limit_10s,
            "daily_used": self.daily_used,
            "faults": self.faults,
            "conflicts": self.conflicts,
            "batches": self.batches,
        }


@dataclass(slots=True)
class SandboxState:
    config: SandboxConfig
    clock: Callable[[], int] = wall_clock_ms
    store: SandboxStore = field(default_factory=SandboxStore)
    throttle: Throttle = field(default_factory=Throttle)
    fault_rng: random.Random = field(init=False)
    latency_rng: random.Random = field(init=False)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    batch_calls: Counter[str] = field(default_factory=Counter)
    batch_inputs: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.fault_rng = random.Random(f"{self.config.seed}:faults")
        self.latency_rng = random.Random(f"{self.config.seed}:latency")

    def now(self) -> int:
        return self.clock()

    def reconfigure(self, **changes: Any) -> SandboxConfig:
        """Change knobs while running (limits, latency, faults …); the seed restarts the RNGs."""
        self.config = self.config.updated(**changes)
        if "seed" in changes:
            self.__post_init__()
        return self.config

    def reset(self) -> None:
        """Forget every object, property, count and window, as a fresh sandbox."""
        self.store = SandboxStore()
        self.throttle = Throttle()
        self.requests = self.conflicts = 0
        self.statuses.clear()
        self.faults.clear()
        self.batch_calls.clear()
        self.batch_inputs.clear()
        self.__post_init__()

    def count_batch(self, call: str, inputs: int) -> None:
        """Note one batch call (``"notes/create"``) that carried ``inputs`` inputs."""
        self.batch_calls[call] += 1
        self.batch_inputs[call] += inputs

    def draw_fault(self) -> Fault | None:
        config = self.config
        if config.error_rate <= 0 or self.fault_rng.random() >= config.error_rate:
            return None
        fault = self.fault_rng.choice(config.faults)
        self.faults[fault] += 1
        return fault

    def latency_s(self) -> float:
        config = self.config
        jitter = (
            self.latency_rng.uniform(0, config.latency_jitter_ms) if config.latency_jitter_ms else 0
        )
        return (config.latency_ms + jitter) / 1000

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
            faults={str(f): self.faults[f] for f in Fault if self.faults[f]},
            conflicts=self.conflicts,
            batches={
                call: {"calls": calls, "inputs": self.batch_inputs[call]}
                for call, calls in sorted(self.batch_calls.items())
            },
        )
