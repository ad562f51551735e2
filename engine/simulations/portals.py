"""A simulation's HubSpot account (portal): its id, its token, and the client that writes to it.

``target: sandbox`` uses SIMCRM_SANDBOX_URL with SIMCRM_SANDBOX_TOKEN; the sandbox's portal id is
learnt with one ``check_token`` call and remembered. ``target: hubspot`` uses HUBSPOT_BASE_URL with
the owner's token (see :mod:`engine.simulations.tokens`); its portal id — the key of its rate
limits — is the one stored beside the token, else learnt from one account-info call and
remembered.

Two ways to ask, one set of rules:

- :meth:`Portals.target` is for writing (the runtime, ``simcrm cleanup``): it resolves
  everything, waiting for the account look-up, and raises when the CRM cannot be used.
- :meth:`Portals.portal_id` and :meth:`Portals.known` are for reporting (the API's limiter
  views, the daemons' gauges): they never hold a request up for long. The look-ups they make —
  the sandbox's account, and the account of the legacy HUBSPOT_API_TOKEN — wait at most
  ``LOOKUP_TIMEOUT_S``; when one fails the answer is None and its next try comes
  ``RETRY_AFTER_MS`` later. A ``hubspot`` simulation's portal is the one stored beside its
  owner's token, or, for an owner who stored none, the legacy token's account; no stored token is
  decrypted for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from pydantic import SecretStr

from core.clock import Clock, SystemClock
from engine.crm import HubSpotTransport, PortalClient, check_token
from engine.simulations.tokens import HubSpotTokens
from schema.simulations import Simulation
from schema.store import Store

if TYPE_CHECKING:
    from engine.settings import Settings

log = structlog.get_logger()

LOOKUP_TIMEOUT_S = 2.0
RETRY_AFTER_MS = 30_000


@dataclass(frozen=True, slots=True)
class Target:
    """Where a simulation's objects go: a client bound to its account and token."""

    portal: PortalClient

    @property
    def portal_id(self) -> str:
        return self.portal.portal_id


class Portals:
    """Resolves simulations' accounts; owns nothing but what it has learnt (the clients are
    the caller's)."""

    def __init__(
        self,
        tokens: HubSpotTokens,
        *,
        hubspot: HubSpotTransport,
        sandbox: HubSpotTransport,
        sandbox_token: SecretStr,
        clock: Clock | None = None,
    ) -> None:
        self._tokens = tokens
        self._hubspot = hubspot
        self._sandbox = sandbox
        self._sandbox_token = sandbox_token
        self._clock: Clock = clock or SystemClock()
        self._learnt: dict[tuple[str, str], str] = {}  # (base URL, token) → portal id
        self._next_try_ms: dict[tuple[str, str], int] = {}  # of a bounded look-up that failed
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        *,
        hubspot: HubSpotTransport,
        sandbox: HubSpotTransport,
        clock: Clock | None = None,
    ) -> Portals:
        return cls(
            HubSpotTokens.from_settings(settings, store),
            hubspot=hubspot,
            sandbox=sandbox,
            sandbox_token=settings.runtime.sandbox_token,
            clock=clock,
        )

    async def target(self, row: Simulation) -> Target:
        """The client to write ``row``'s objects with.

        Raises:
            TargetUnavailable: naming what is missing (never the token).
            CrmError: the account look-up failed (the CRM refused or could not be reached).
        """
        sender = str(row.id)  # the simulation's requests share the account's window fairly
        if row.target == "sandbox":
            token = self._sandbox_token
            portal_id = await self._learn(self._sandbox, token)
            return Target(PortalClient(self._sandbox, portal_id, token, sender=sender))
        token, stored = await self._tokens.token(row.owner_id)
        if stored is None:
            portal_id = await self._learn(self._hubspot, token)
            return Target(PortalClient(self._hubspot, portal_id, token, sender=sender))
        portal = PortalClient(self._hubspot, stored, token, sender=sender)
        # The stored id spares the look-up, but the account's time zone (when its daily limit
        # resets) is still learnt once per process.
        await self._hubspot.once(("account", stored), portal.account)
        return Target(portal)

    async def portal_id(self, row: Simulation) -> str | None:
        """The account whose limits pace ``row``, or None when it cannot be told yet."""
        if row.target == "sandbox":
            return await self.sandbox_portal_id()
        if await self._tokens.has_stored(row.owner_id):
            return await self._tokens.stored_portal_id(row.owner_id)
        return await self.legacy_portal_id()

    async def known(self) -> list[str]:
        """Every account known without waiting: the stored tokens', the legacy
        HUBSPOT_API_TOKEN's, then the sandbox's."""
        portals = await self._tokens.portal_ids()
        for extra in (await self.legacy_portal_id(), await self.sandbox_portal_id()):
            if extra is not None and extra not in portals:
                portals.append(extra)
        return portals

    async def sandbox_portal_id(self) -> str | None:
        """The sandbox's portal id, or None while the sandbox cannot be reached (bounded)."""
        return await self._bounded_lookup(
            self._sandbox, self._sandbox_token, "sandbox_portal_unknown"
        )

    async def legacy_portal_id(self) -> str | None:
        """The account of HUBSPOT_API_TOKEN (None: not set, or HubSpot did not tell yet)."""
        legacy = self._tokens.legacy
        if legacy is None:
            return None
        return await self._bounded_lookup(self._hubspot, legacy, "legacy_portal_unknown")

    async def _bounded_lookup(
        self, client: HubSpotTransport, token: SecretStr, failed_event: str
    ) -> str | None:
        """The token's account if known or learnt within LOOKUP_TIMEOUT_S; a failed look-up
        is retried RETRY_AFTER_MS later, not before (``failed_event`` logs the failure)."""
        key = self._key(client, token)
        learnt = self._learnt.get(key)
        if learnt is not None or self._clock.now_ms() < self._next_try_ms.get(key, 0):
            return learnt
        async with self._lock:
            if key not in self._learnt and self._clock.now_ms() >= self._next_try_ms.get(key, 0):
                try:
                    details = await asyncio.wait_for(check_token(client, token), LOOKUP_TIMEOUT_S)
                    self._learnt[key] = details.portal_id
                except Exception as exc:
                    log.info(failed_event, error=type(exc).__name__)
                    self._next_try_ms[key] = self._clock.now_ms() + RETRY_AFTER_MS
        return self._learnt.get(key)

    async def _learn(self, client: HubSpotTransport, token: SecretStr) -> str:
        """The token's account, asked once per client and token, then remembered."""
        key = self._key(client, token)
        portal_id = self._learnt.get(key)
        if portal_id is None:
            details = await check_token(client, token)
            portal_id = self._learnt[key] = details.portal_id
        return portal_id

    @staticmethod
    def _key(client: HubSpotTransport, token: SecretStr) -> tuple[str, str]:
        return client.base_url, token.get_secret_value()
