"""What a plan costs in HubSpot requests, and how long a HubSpot tier takes to carry it.

Tiers are the per-10-second request limits of HubSpot accounts (:data:`limits.TIERS`): 100
(Free/Starter private apps), 110 (public OAuth apps), 190 (Professional/Enterprise), 250 (the API
limit increase add-on). Writes are batched: one request carries up to
:data:`~limits.config.MAX_BATCH` (100) inputs of one type.

The estimate works per grid bucket (an hour of simulated time). Activities are assumed to follow
the arrivals' profile. In a **live** run (``backfill`` off) a bucket lasts ``length/time_scale`` of
wall time and items of a type due at rate ``r`` per wall second cost ``r`` requests per second
while ``r ≤ 1`` (each goes alone) and ``⌈r/100⌉`` above it (due together, batched). The peak is the
largest 10-second demand over the buckets; the duration plays the buckets through a queue that
serves the tier's rate, so a demand above the tier makes the run finish late. In a **backfill**
everything is due at once: ``⌈n/100⌉`` requests per type, at the tier's rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from limits.config import MAX_BATCH


@dataclass(frozen=True, slots=True)
class LoadEstimate:
    tier: int
    backfill: bool
    total_requests: int
    peak_requests_per_10s: float
    duration_s: float
    simulated_s: float
    over_tier: bool

    def as_json(self) -> dict[str, object]:
        return {
            "tier_requests_per_10s": self.tier,
            "backfill": self.backfill,
            "total_requests": self.total_requests,
            "peak_requests_per_10s": round(self.peak_requests_per_10s, 2),
            "duration_s": round(self.duration_s, 1),
            "simulated_s": round(self.simulated_s, 1),
            "over_tier": self.over_tier,
        }


def _per_second(rate: float) -> float:
    return rate if rate <= 1 else math.ceil(rate / MAX_BATCH)


def estimate(
    *,
    bucket_ms: Sequence[int],
    arrivals: Sequence[int],
    totals: Mapping[str, int],
    records: int,
    time_scale: float,
    backfill: bool,
    tier: int,
) -> LoadEstimate:
    """The load of a plan whose arrivals per bucket are ``arrivals`` (bucket lengths in ms).

    ``totals`` counts the planned items per type (contacts included).
    """
    capacity = tier / 10
    simulated_s = sum(bucket_ms) / 1000
    if backfill:
        total = sum(math.ceil(n / MAX_BATCH) for n in totals.values() if n > 0)
        return LoadEstimate(
            tier, True, total, float(min(total, tier)), total / capacity, simulated_s, False
        )
    shares = [n / records for n in totals.values() if n > 0]
    backlog = 0.0
    total_requests = 0.0
    peak = 0.0
    wall_s = 0.0
    for length_ms, count in zip(bucket_ms, arrivals, strict=True):
        seconds = length_ms / 1000 / time_scale
        if seconds <= 0:
            continue
        demand_per_s = sum(_per_second(count * share / seconds) for share in shares)
        peak = max(peak, demand_per_s * 10)
        demand = demand_per_s * seconds
        total_requests += demand
        backlog = max(0.0, backlog + demand - capacity * seconds)
        wall_s += seconds
    return LoadEstimate(
        tier,
        False,
        math.ceil(total_requests),
        peak,
        wall_s + backlog / capacity,
        simulated_s,
        peak > tier,
    )
