"""One blocked HubSpot account slows no other: while portal A sits in a long 429 cooldown, behind
an open circuit breaker or out of its daily budget, portal B's backfill runs to completion in the
same worker and shards, with every optional engagement it planned, and A's jobs wait without
spinning through the queue or failing — also when A's 429 meets the engine's look-up of A's
account (an owner who stored the token without its account id).

Both simulations write to one twin serving two portals (each owner's stored token reaches its
own), so they share the engine's transport, limiter, queue and planner; only the per-account
state (the limiter's ``{p<portal>}`` keys, each account's breaker) keeps them apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from engine.crm import HubSpotTransport, ObjectType, PortalClient, RateLimited
from engine.runtime.handlers import Handlers
from engine.runtime.jobs import sim_of
from engine.settings import Settings, key_id
from limits import BreakerState, Decision, Limiter, Outcome, Reason
from sandbox import PortalConfig, Sandbox
from schema.crypto import TokenCipher
from schema.simulations import Simulation, SimulationStatus
from schema.store import Store
from streams import Job, Queue
from tests.engine.runtime.harness import (
    SECRET,
    describe,
    expected_objects,
    runtime_settings,
    simulations,
    start_engine,
    wait_until,
)

A, B = 7_001, 7_002
TOKENS = {
    A: "pat-na1-aaaaaaaa-0000-0000-0000-00000000000a",
    B: "pat-na1-bbbbbbbb-0000-0000-0000-00000000000b",
}
A_RECORDS, B_RECORDS = 40, 300
HOUR_MS = 3_600_000
DEADLINE_S = 150  # a failure guard only: B's backfill takes a fraction of it
#: Refusals that come from an account's own state (a 429, failures, its daily budget): B must
#: never meet one of them, as B met no 429 and no failure.
BLOCKS = {Reason.COOLDOWN, Reason.BREAKER, Reason.DAILY}


def far_from_midnight() -> str:
    """A time zone whose midnight (when a daily budget comes back) is at least six hours away."""
    now = datetime.now(UTC)
    for name in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        if now.astimezone(ZoneInfo(name)).hour < 18:
            return name
    raise AssertionError("one of three zones eight hours apart is before 18:00")


async def refused_by_the_twin(sandbox: Sandbox, limiter: Limiter) -> RateLimited:
    """One request for A through a transport and the limiter, as the engine sends it: the twin
    answers 429 and the limiter takes what the answer says."""
    async with HubSpotTransport(sandbox.url, limiter=limiter) as transport:
        with pytest.raises(RateLimited) as refused:
            await PortalClient(transport, A, TOKENS[A]).account()
    return refused.value


async def spend_on_the_twin(sandbox: Sandbox, requests: int) -> None:
    """Requests for A that reach the twin without the limiter (someone else using the token)."""
    async with HubSpotTransport(sandbox.url) as transport:
        for _ in range(requests):
            await transport.request(SecretStr(TOKENS[A]), None, "GET", "/account-info/v3/details")


async def cooldown(sandbox: Sandbox, limiter: Limiter, redis: Redis) -> None:
    """A meets a real ten-secondly 429 carrying ``Retry-After: 3600``."""
    sandbox.reconfigure(retry_after_s=HOUR_MS // 1000)
    sandbox.reconfigure_portal(A, tier=1)
    await spend_on_the_twin(sandbox, 1)
    refused = await refused_by_the_twin(sandbox, limiter)
    assert refused.retry_after_ms == HOUR_MS, refused


async def breaker(sandbox: Sandbox, limiter: Limiter, redis: Redis) -> None:
    """A's breaker opens for an hour on the failures the limiter is told of."""
    config = dataclasses.replace(limiter.config, breaker_open_ms=HOUR_MS)
    opener = Limiter(redis, config)
    await opener.load()
    for _ in range(config.breaker_failures + 1):
        await opener.report(str(A), Outcome.FAILED)
    assert (await limiter.state(str(A))).breaker is BreakerState.OPEN


async def daily(sandbox: Sandbox, limiter: Limiter, redis: Redis) -> None:
    """A's daily budget runs out: the twin answers a real DAILY 429 (no Retry-After), which
    holds A until its midnight."""
    zone = far_from_midnight()
    sandbox.reconfigure_portal(A, daily_limit=1, time_zone=zone)
    await limiter.set_time_zone(str(A), zone)
    await spend_on_the_twin(sandbox, 1)
    await refused_by_the_twin(sandbox, limiter)
    assert sandbox.stats().portals[str(A)].rate_limited["DAILY"] == 1


Block = Callable[[Sandbox, Limiter, Redis], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    """How A is blocked and the refusal that shows it. ``portal_stored``: A's owner stored the
    token with its account id; without it the engine learns the account with a look-up no
    limiter gates (it knows A, and reads A's limiter state, once that look-up is answered).
    ``known``: B starts once the engine has read A's limiter state, not only met A's jobs."""

    block: Block
    reason: Reason
    portal_stored: bool = True
    known: bool = False


CASES = {
    "cooldown": Case(cooldown, Reason.COOLDOWN),
    "breaker": Case(breaker, Reason.BREAKER, portal_stored=False, known=True),
    "daily": Case(daily, Reason.DAILY),
    "daily-lookup": Case(daily, Reason.DAILY, portal_stored=False),
}


class Spy:
    """What the engine did, as the queue and the limiter saw it: jobs handed to the handlers by
    simulation, the limiter's refusals by portal, and how often each portal's state was read."""

    def __init__(self) -> None:
        self.deliveries: Counter[int] = Counter()
        self.refusals: dict[str, Counter[Reason]] = {str(A): Counter(), str(B): Counter()}
        self.state_reads: Counter[str] = Counter()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        run, acquire, state = Handlers._run, Limiter.acquire, Limiter.state

        async def counted_run(handlers: Handlers, send: Any, jobs: Sequence[Job]) -> Any:
            self.deliveries.update(sim_of(job) for job in jobs)
            return await run(handlers, send, jobs)

        async def noted_acquire(limiter: Limiter, portal: str, *args: Any, **kw: Any) -> Decision:
            decision = await acquire(limiter, portal, *args, **kw)
            if not decision.allowed and decision.reason is not None:
                self.refusals.setdefault(portal, Counter())[decision.reason] += 1
            return decision

        async def counted_state(limiter: Limiter, portal: str, *args: Any, **kw: Any) -> Any:
            self.state_reads[portal] += 1
            return await state(limiter, portal, *args, **kw)

        monkeypatch.setattr(Handlers, "_run", counted_run)
        monkeypatch.setattr(Limiter, "acquire", noted_acquire)
        monkeypatch.setattr(Limiter, "state", counted_state)

    def blocked_b(self) -> Counter[Reason]:
        return Counter({r: n for r, n in self.refusals[str(B)].items() if r in BLOCKS})


async def start_for(
    store: Store, portal: int, total_records: int, *, portal_stored: bool = True
) -> Simulation:
    """A running b2b backfill of ``total_records`` owned by a user whose stored token reaches
    ``portal`` (its id stored beside it when ``portal_stored``)."""
    owner, _key = await store.users.create(f"owner-{portal}@example.com")
    raw = bytes.fromhex(SECRET)
    cipher = TokenCipher({key_id(raw): raw})
    stored = portal if portal_stored else None
    await store.credentials.put(owner.id, TOKENS[portal], cipher, portal_id=stored)
    service = simulations(store)
    row = await service.create(
        owner.id,
        {
            "name": f"portal {portal}",
            "scenario": "b2b_saas",
            "distribution_method": "uniform",
            "start_time": "2026-01-05T00:00:00Z",
            "end_time": "2026-01-12T00:00:00Z",
            "total_records": total_records,
            "backfill": True,
            "target": "hubspot",
        },
    )
    return await service.start(row.id)


def stored_in(sandbox: Sandbox, portal: int) -> dict[ObjectType, Counter[str]]:
    """How many live objects carry each simcrm_key in ``portal``, by type."""
    return {
        t: Counter(
            o.properties.get("simcrm_key", "") for o in sandbox.objects(t, portal) if not o.archived
        )
        for t in ObjectType
    }


async def waiting_until(queue: Queue, sim_id: int) -> list[bool]:
    """For each of the simulation's jobs in the delayed set: whether it is due no sooner than
    half an hour from now (when the block ends, not at the next tick)."""
    later = int(time.time() * 1000) + HOUR_MS // 2
    shard = queue.keys.shard_of(str(sim_id))
    members = await queue.client.zrange(queue.keys.delayed(shard), 0, -1, withscores=True)
    return [
        due >= later
        for member, due in members
        if orjson.loads(member[1:])[0].startswith(f"{sim_id}:")
    ]


@pytest.fixture
def two_portals(sandbox: Sandbox) -> Sandbox:
    """The runtime sandbox serving portals A and B, each reached by its own token."""
    sandbox.reconfigure(portals=tuple(PortalConfig(TOKENS[p], p) for p in (A, B)))
    return sandbox


@pytest.mark.parametrize("case", list(CASES))
async def test_a_blocked_portal_slows_no_other(
    case: str,
    two_portals: Sandbox,
    runtime_store: Store,
    database_file: str,
    redis_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Portal A blocked for an hour (case), portal B backfilling in the same engine: B completes
    with every object once and no 429; B's limiter never refuses for a cooldown, breaker or
    daily budget; A's jobs were each handed out about once and wrote nothing to A's portal, none
    failed or was dead-lettered, and A's simulation still runs with all its jobs waiting."""
    sandbox = two_portals
    block, reason = CASES[case].block, CASES[case].reason
    settings: Settings = runtime_settings(sandbox, HUBSPOT_BASE_URL=sandbox.url)
    limiter = Limiter(redis, settings.limits.config())
    await limiter.load()
    sim_a = await start_for(runtime_store, A, A_RECORDS, portal_stored=CASES[case].portal_stored)
    await block(sandbox, limiter, redis)
    sent_to_a = sandbox.stats().portals[str(A)].requests
    spy = Spy()
    spy.install(monkeypatch)

    running = await start_engine(settings, redis_url, database_file)
    try:
        # B starts once the engine has met A's block: every A job handed out, and A's limiter
        # state read by the engine when it knows A's account.
        def a_is_blocked() -> bool:
            seen = spy.deliveries[sim_a.id] >= A_RECORDS
            return seen and (not CASES[case].known or spy.state_reads[str(A)] > 0)

        await wait_until(a_is_blocked, DEADLINE_S)
        sim_b = await start_for(runtime_store, B, B_RECORDS)
        deadline = time.monotonic() + DEADLINE_S
        while (await runtime_store.simulations.get(sim_b.id)).status is SimulationStatus.RUNNING:
            assert not spy.blocked_b(), f"B refused for A's {case}: {spy.refusals}"
            assert time.monotonic() < deadline, await describe(redis_url, sim_b.id)
            await asyncio.sleep(0.1)
    finally:
        await running.stop()

    done_b = await runtime_store.simulations.get(sim_b.id)
    assert done_b.status is SimulationStatus.COMPLETED, done_b.status
    stats = sandbox.stats()
    b_stats = stats.portals[str(B)]
    assert b_stats.rate_limited == {"TEN_SECONDLY_ROLLING": 0, "DAILY": 0, "SECONDLY": 0}
    assert b_stats.duplicates_total == 0
    stored = stored_in(sandbox, B)
    for object_type, keys in expected_objects(done_b).items():
        assert set(stored[object_type]) == keys, object_type
        assert all(count == 1 for count in stored[object_type].values()), object_type
    assert not spy.blocked_b(), spy.refusals
    b_limits = await limiter.state(str(B))
    assert b_limits.breaker is BreakerState.CLOSED, b_limits
    assert b_limits.cooldown_until_ms is None, b_limits

    # A was held back by its own block, and only by it …
    a_stats = stats.portals[str(A)]
    if CASES[case].portal_stored or CASES[case].known:
        assert spy.refusals[str(A)][reason] > 0, spy.refusals
    else:  # the engine's account look-up met the twin's 429, before A's limiter was asked
        assert a_stats.rate_limited[reason.upper()] > 1, a_stats.rate_limited
    assert a_stats.batches == {} and sum(a_stats.objects.values()) == 0, a_stats
    if CASES[case].portal_stored:  # else the engine's account look-up is all that reached it
        assert a_stats.requests == sent_to_a, "A's requests reached the twin"
    # … its jobs waited instead of cycling through the queue …
    assert 0 < spy.deliveries[sim_a.id] <= 2 * A_RECORDS, spy.deliveries
    queue = Queue(redis, settings.queue_config())
    assert queue.keys.shard_of(str(sim_a.id)) == queue.keys.shard_of(str(sim_b.id))
    assert await queue.live_count(str(sim_a.id)) == A_RECORDS
    assert await waiting_until(queue, sim_a.id) == [True] * A_RECORDS, "A's jobs due too soon"
    # … and none failed for it.
    assert (await queue.dead_letters.scope(str(sim_a.id))).counts == {}
    assert (await runtime_store.simulations.get(sim_a.id)).status is SimulationStatus.RUNNING
    counters = await runtime_store.counters.get(sim_a.id)
    assert not any(c.get("dead") or c.get("failed") for c in counters.values()), counters
