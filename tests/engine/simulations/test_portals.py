"""One resolver of a simulation's HubSpot account, against real sandboxes over HTTP: the token
rule (stored, else the global one, never instead of an unreadable stored one), the account
remembered after one look-up, and reporting that never waits on an unreachable sandbox."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from core.clock import ManualClock
from engine.crm import AuthFailed, HubSpotTransport, ObjectType, PortalClient
from engine.settings import Settings
from engine.simulations import (
    HubSpotTokens,
    MissingToken,
    Portals,
    Simulations,
    TargetUnavailable,
)
from engine.simulations.portals import LOOKUP_TIMEOUT_S, RETRY_AFTER_MS
from schema.crypto import TokenCipher
from schema.simulations import Simulation
from schema.store import Store
from schema.users import User
from tests.engine.simulations.conftest import BODY, SECRET
from tests.support.sandboxes import SandboxFactory

DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused
STORED = "pat-na1-stored-0000-1111"
LEGACY = "pat-na1-legacy-2222-3333"
KEYS = Settings.from_env(TOKEN_ENC_SECRET=SecretStr(SECRET)).security.token_keys()
OTHER_KEYS = Settings.from_env(TOKEN_ENC_SECRET=SecretStr("ab" * 32)).security.token_keys()


@pytest.fixture
async def clients() -> AsyncIterator[dict[str, HubSpotTransport]]:
    """Clients by name, made on demand by ``connect`` and closed after the test."""
    opened: dict[str, HubSpotTransport] = {}
    yield opened
    for client in opened.values():
        await client.__aexit__(None, None, None)


async def connect(clients: dict[str, HubSpotTransport], name: str, url: str) -> HubSpotTransport:
    client = HubSpotTransport(url, timeout_ms=5_000, connect_timeout_ms=1_000)
    await client.__aenter__()
    clients[name] = client
    return client


async def simulation(store: Store, owner: User, target: str) -> Simulation:
    return await Simulations(store, HubSpotTokens(store)).create(
        owner.id, {**BODY, "target": target}
    )


def portals(
    store: Store,
    hubspot: HubSpotTransport,
    sandbox: HubSpotTransport,
    clock: ManualClock | None = None,
    **tokens: Any,
) -> Portals:
    return Portals(
        HubSpotTokens(store, **tokens),
        hubspot=hubspot,
        sandbox=sandbox,
        sandbox_token=SecretStr("sandbox-token"),
        clock=clock or ManualClock(),
    )


async def test_a_sandbox_simulation_uses_the_sandbox_account_looked_up_once(
    store: Store, owner: User, sandbox_factory: SandboxFactory, clients: dict[str, HubSpotTransport]
) -> None:
    """A `sandbox` simulation is written to the sandbox's account, learnt with one token check
    and remembered: later resolutions, and the API's reporting, ask the sandbox nothing more."""
    twin = await sandbox_factory(portal_id=777001)
    resolver = portals(
        store, await connect(clients, "hubspot", DEAD_URL), await connect(clients, "sb", twin.url)
    )
    row = await simulation(store, owner, "sandbox")
    target = await resolver.target(row)
    assert target.portal_id == "777001"
    asked = twin.stats().requests
    assert asked > 0
    assert (await resolver.target(row)).portal_id == "777001"
    assert await resolver.portal_id(row) == "777001"
    assert await resolver.known() == ["777001"]
    assert twin.stats().requests == asked


async def test_a_stored_token_is_used_before_the_global_one(
    store: Store, owner: User, sandbox_factory: SandboxFactory, clients: dict[str, HubSpotTransport]
) -> None:
    """With both a stored token and HUBSPOT_API_TOKEN, a `hubspot` simulation uses the stored
    token (the CRM accepts only it) and the portal id stored beside it; the only call made is
    one read of the account's details (its time zone sets when its daily limit resets)."""
    crm = await sandbox_factory(tokens=(STORED,))
    hubspot = await connect(clients, "hubspot", crm.url)
    resolver = portals(
        store,
        hubspot,
        await connect(clients, "sb", DEAD_URL),
        keys=KEYS,
        legacy=SecretStr(LEGACY),
    )
    await store.credentials.put(owner.id, STORED, TokenCipher(KEYS), portal_id=4242)
    row = await simulation(store, owner, "hubspot")
    target = await resolver.target(row)
    assert target.portal_id == "4242"
    assert crm.stats().requests == 1
    await resolver.target(row)
    assert crm.stats().requests == 1
    assert await target.portal.read(ObjectType.CONTACT, "1") is None  # the token is accepted
    with pytest.raises(AuthFailed):  # as only the stored one is
        await PortalClient(hubspot, "4242", SecretStr(LEGACY)).read(ObjectType.CONTACT, "1")
    assert await resolver.portal_id(row) == "4242"


async def test_a_stored_token_without_a_portal_is_looked_up(
    store: Store, owner: User, sandbox_factory: SandboxFactory, clients: dict[str, HubSpotTransport]
) -> None:
    """A stored token whose portal id was not recorded is resolved by one account look-up with
    that token; reporting, which never calls HubSpot, says it is not known."""
    crm = await sandbox_factory(tokens=(STORED,), portal_id=515151)
    resolver = portals(
        store,
        await connect(clients, "hubspot", crm.url),
        await connect(clients, "sb", DEAD_URL),
        keys=KEYS,
    )
    await store.credentials.put(owner.id, STORED, TokenCipher(KEYS))
    row = await simulation(store, owner, "hubspot")
    assert (await resolver.target(row)).portal_id == "515151"
    assert await resolver.portal_id(row) is None


async def test_the_global_token_serves_owners_who_stored_none(
    store: Store, owner: User, sandbox_factory: SandboxFactory, clients: dict[str, HubSpotTransport]
) -> None:
    """An owner without a stored token writes with HUBSPOT_API_TOKEN, to its account."""
    crm = await sandbox_factory(tokens=(LEGACY,), portal_id=616161)
    resolver = portals(
        store,
        await connect(clients, "hubspot", crm.url),
        await connect(clients, "sb", DEAD_URL),
        keys=KEYS,
        legacy=SecretStr(LEGACY),
    )
    row = await simulation(store, owner, "hubspot")
    assert (await resolver.target(row)).portal_id == "616161"


async def test_an_unreadable_stored_token_never_falls_back(
    store: Store, owner: User, sandbox_factory: SandboxFactory, clients: dict[str, HubSpotTransport]
) -> None:
    """A stored token this process cannot decrypt (no TOKEN_ENC_SECRET, or another one) makes
    the account unavailable even with HUBSPOT_API_TOKEN set, which would write to another
    account; the reason never shows the token."""
    crm = await sandbox_factory()
    hubspot = await connect(clients, "hubspot", crm.url)
    sandbox = await connect(clients, "sb", DEAD_URL)
    await store.credentials.put(owner.id, STORED, TokenCipher(KEYS), portal_id=4242)
    row = await simulation(store, owner, "hubspot")
    for keys, reason in (({}, "no TOKEN_ENC_SECRET"), (OTHER_KEYS, "cannot be read")):
        resolver = portals(store, hubspot, sandbox, keys=keys, legacy=SecretStr(LEGACY))
        with pytest.raises(TargetUnavailable, match=reason) as refused:
            await resolver.target(row)
        assert STORED not in str(refused.value) and LEGACY not in str(refused.value)
    assert crm.stats().requests == 0


async def test_no_token_at_all_is_a_missing_token(
    store: Store, owner: User, clients: dict[str, HubSpotTransport]
) -> None:
    """No stored token and no HUBSPOT_API_TOKEN: MissingToken, saying how to store one."""
    resolver = portals(
        store, await connect(clients, "hubspot", DEAD_URL), await connect(clients, "sb", DEAD_URL)
    )
    with pytest.raises(MissingToken, match="PUT /api/me/hubspot-token"):
        await resolver.target(await simulation(store, owner, "hubspot"))


async def test_reporting_never_waits_on_an_unreachable_sandbox(
    store: Store, owner: User, clients: dict[str, HubSpotTransport]
) -> None:
    """While the sandbox cannot be reached, a `sandbox` simulation's portal is None within the
    bounded wait; the look-up is not tried again for RETRY_AFTER_MS; stored tokens' accounts
    are still listed."""
    clock = ManualClock()
    resolver = portals(
        store,
        await connect(clients, "hubspot", DEAD_URL),
        await connect(clients, "sb", DEAD_URL),
        clock=clock,
        keys=KEYS,
    )
    await store.credentials.put(owner.id, STORED, TokenCipher(KEYS), portal_id=4242)
    row = await simulation(store, owner, "sandbox")
    with capture_logs() as logs:
        began = time.monotonic()
        assert await resolver.portal_id(row) is None
        assert time.monotonic() - began < LOOKUP_TIMEOUT_S + 1
        assert await resolver.known() == ["4242"]
        clock.advance(RETRY_AFTER_MS - 1)
        assert await resolver.portal_id(row) is None
        tries = [entry for entry in logs if entry["event"] == "sandbox_portal_unknown"]
        assert len(tries) == 1
        clock.advance(1)
        assert await resolver.portal_id(row) is None
    tries = [entry for entry in logs if entry["event"] == "sandbox_portal_unknown"]
    assert len(tries) == 2


async def test_the_global_tokens_account_is_reported(
    store: Store, owner: User, sandbox_factory: SandboxFactory, clients: dict[str, HubSpotTransport]
) -> None:
    """HUBSPOT_API_TOKEN's account is among the known ones (after the stored tokens', before
    the sandbox's), learnt with one look-up, and it is the reported account of a `hubspot`
    simulation whose owner stored no token; an owner with a stored token keeps their own."""
    crm = await sandbox_factory(tokens=(LEGACY, STORED), portal_id=717171)
    twin = await sandbox_factory(portal_id=777001)
    resolver = portals(
        store,
        await connect(clients, "hubspot", crm.url),
        await connect(clients, "sb", twin.url),
        keys=KEYS,
        legacy=SecretStr(LEGACY),
    )
    row = await simulation(store, owner, "hubspot")
    assert await resolver.portal_id(row) == "717171"
    other, _key = await store.users.create("stored@example.com")
    await store.credentials.put(other.id, STORED, TokenCipher(KEYS), portal_id=4242)
    assert await resolver.known() == ["4242", "717171", "777001"]
    asked = crm.stats().requests
    assert await resolver.portal_id(await simulation(store, other, "hubspot")) == "4242"
    assert await resolver.portal_id(row) == "717171"
    assert crm.stats().requests == asked
