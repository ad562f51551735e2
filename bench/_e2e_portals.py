"""The portals of an end-to-end run (:mod:`bench.e2e`): each with an owner whose stored token
reaches it and one backfill simulation; starting them all at once and waiting for every one;
verifying each in its own portal afterwards.

Each portal is declared to the sandbox with ``--portal TOKEN:ID,tier=190``; its owner's token is
stored as ``PUT /api/me/hubspot-token`` stores it (sealed with TOKEN_ENC_SECRET, the portal id
beside it), so the daemons reach it as a ``hubspot`` simulation of that owner: the sandbox plays
HubSpot (``HUBSPOT_BASE_URL``), one account per owner, as in a deployment with many users.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench._redis_figures import RedisNodes
from engine.crm import HubSpotTransport, PortalClient, check_token
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from engine.settings import Settings
from engine.simulations import HubSpotTokens, Simulations
from engine.simulations.verify import Verification, verify_simulation
from limits import Limiter
from schema.crypto import TokenCipher
from schema.simulations import Simulation, SimulationStatus
from schema.store import Store

TIER = 190
FIRST_PORTAL_ID = 62_515_001
MEMORY_SAMPLE_S = 1.0
POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class BenchPortal:
    """One portal of the run: the token that reaches it in the sandbox, and its id."""

    token: str
    portal_id: int

    @classmethod
    def numbered(cls, count: int) -> list[BenchPortal]:
        return [cls(f"pat-bench-{n}", FIRST_PORTAL_ID + n) for n in range(count)]

    def sandbox_flag(self) -> str:
        return f"{self.token}:{self.portal_id},tier={TIER}"


@dataclass(slots=True)
class Outcome:
    """One portal's simulation and what it did: seconds from the common start until it
    completed, its live counts, and its verification (``--adversarial``)."""

    portal: BenchPortal
    sim: Simulation
    elapsed_s: float = 0.0
    counts: metrics.Counts | None = None
    verified: Verification | None = None

    @property
    def written(self) -> int:
        """Objects created and updated (contacts included)."""
        counts = self.counts or {}
        return sum(
            by.get("created", 0) + by.get("updated", 0)
            for kind, by in counts.items()
            if kind != "all"
        )

    @property
    def dead_letters(self) -> int:
        return sum(by.get("dead", 0) for by in (self.counts or {}).values())


async def store_simulations(
    store: Store, settings: Settings, portals: Sequence[BenchPortal], records: int
) -> list[Outcome]:
    """Per portal: an owner, their token stored (encrypted, with the portal id beside it) and
    a draft simulation writing to it."""
    cipher = TokenCipher(settings.security.token_keys())
    simulations = Simulations(store, HubSpotTokens(store))
    outcomes = []
    for portal in portals:
        user, _ = await store.users.create(f"bench-{portal.portal_id}@simcrm.local")
        await store.credentials.put(user.id, portal.token, cipher, portal_id=portal.portal_id)
        body = {
            "name": f"e2e benchmark, portal {portal.portal_id}",
            "scenario": "b2b_saas",
            "distribution_method": "uniform",
            "start_time": "2026-01-05T00:00:00Z",
            "end_time": "2026-02-05T00:00:00Z",
            "total_records": records,
            "backfill": True,
            "target": "hubspot",
        }
        outcomes.append(Outcome(portal, await simulations.create(user.id, body)))
    return outcomes


async def run_until_completed(
    store: Store, nodes: RedisNodes, outcomes: Sequence[Outcome], timeout_s: float
) -> float:
    """Start every simulation at once; wait until all have completed (each one's time noted,
    Redis's memory sampled meanwhile). Returns the seconds until the last completed."""
    simulations = Simulations(store, HubSpotTokens(store))
    started = time.monotonic()
    await asyncio.gather(*(simulations.start(o.sim.id) for o in outcomes))
    running = list(outcomes)
    sampled = started
    while running:
        now = time.monotonic()
        if now - started > timeout_s:
            raise RuntimeError(f"the backfills did not complete in {timeout_s} s")
        for outcome in list(running):
            row = await store.simulations.get(outcome.sim.id)
            if row.status is SimulationStatus.COMPLETED:
                outcome.elapsed_s = time.monotonic() - started
                running.remove(outcome)
            elif row.status.is_final:
                raise RuntimeError(
                    f"simulation {row.id} ended {row.status.value}: {row.status_reason or '?'}"
                )
        if now - sampled >= MEMORY_SAMPLE_S:
            await nodes.sample_memory()
            sampled = now
        await asyncio.sleep(POLL_S)
    return time.monotonic() - started


async def verify(settings: Settings, store: Store, outcome: Outcome, redis: Any) -> Verification:
    """The simulation counted in its portal by key, searching at the account's own pace."""
    limiter = Limiter(redis, settings.limits.config())
    await limiter.load()
    token = outcome.portal.token
    base_url = settings.hubspot.base_url
    async with HubSpotTransport(base_url, limiter=limiter, wait_for_limits=True) as transport:
        details = await check_token(transport, token)
        portal = PortalClient(transport, details.portal_id, token)
        row = await store.simulations.get(outcome.sim.id)
        keys = SimKeys(outcome.sim.id, settings.redis.key_prefix)
        return await verify_simulation(row, portal, redis, keys)
