"""What ``GET /__sandbox/stats`` reports, for one portal and summed over all of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def _sum(maps: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for values in maps:
        total.update(values)
    return dict(sorted(total.items()))


@dataclass(frozen=True, slots=True)
class SandboxStats:
    """What ``GET /__sandbox/stats`` reports.

    ``requests`` counts API requests (not ``/__sandbox``); ``peak_10s`` is the most requests one
    token sent within any rolling window (429s included), ``peak_10s_admitted`` the most it was
    allowed; ``rate_limited`` counts 429s by policy; ``faults`` the injected faults and the
    adversarial answers (``applied-502``, ``applied-timeout`` …); ``batches`` counts batch calls
    and their inputs by object type and operation (``"notes/create": {"calls": 3, "inputs":
    250}``; association calls as ``"associations/notes-contacts"``), which shows how full the
    batches a client sends are (``batch_fill``: inputs per call). ``lifecycle_ignored`` counts
    contact lifecycle stages sent backwards and left as they were. ``portals`` holds the same
    figures per portal id; the top-level figures are their sums (peaks: their maximum).
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
    lifecycle_ignored: int = 0
    portals: dict[str, SandboxStats] = field(default_factory=dict)

    @property
    def duplicates_total(self) -> int:
        return sum(self.duplicates.values())

    @property
    def rate_limited_total(self) -> int:
        return sum(self.rate_limited.values())

    @property
    def batch_fill(self) -> dict[str, float]:
        return {
            call: round(counts["inputs"] / counts["calls"], 1)
            for call, counts in self.batches.items()
            if counts["calls"]
        }

    @classmethod
    def combined(cls, per_portal: Mapping[str, SandboxStats], limit_10s: int) -> SandboxStats:
        parts = list(per_portal.values())
        calls = [{k: v["calls"] for k, v in p.batches.items()} for p in parts]
        inputs = [{k: v["inputs"] for k, v in p.batches.items()} for p in parts]
        summed_inputs = _sum(inputs)
        return cls(
            objects=_sum(p.objects for p in parts),
            duplicates=_sum(p.duplicates for p in parts),
            requests=sum(p.requests for p in parts),
            statuses=_sum(p.statuses for p in parts),
            rate_limited=_sum(p.rate_limited for p in parts),
            peak_10s=max((p.peak_10s for p in parts), default=0),
            peak_10s_admitted=max((p.peak_10s_admitted for p in parts), default=0),
            limit_10s=limit_10s,
            daily_used=sum(p.daily_used for p in parts),
            faults=_sum(p.faults for p in parts),
            conflicts=sum(p.conflicts for p in parts),
            batches={
                call: {"calls": count, "inputs": summed_inputs[call]}
                for call, count in _sum(calls).items()
            },
            lifecycle_ignored=sum(p.lifecycle_ignored for p in parts),
            portals=dict(per_portal),
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
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
            "batch_fill": self.batch_fill,
            "lifecycle_ignored": self.lifecycle_ignored,
        }
        if self.portals:
            body["portals"] = {key: p.to_json() for key, p in self.portals.items()}
        return body
