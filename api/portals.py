"""Which HubSpot accounts (portals) the API reports limiter state for, and a simulation's portal.

A simulation with target ``sandbox`` uses the sandbox's account, learnt with one ``check_token``
call against SIMCRM_SANDBOX_URL and remembered (a failed look-up is retried after a while, and
never holds up a request for long). A simulation with target ``hubspot`` uses its owner's stored
token, whose portal id is kept beside it.
"""

from __future__ import annotations

import asyncio

import structlog

from core.clock import Clock
from engine.crm.transport import HubSpotClient
from engine.settings import Settings
from schema.simulations import Simulation
from schema.store import Store

log = structlog.get_logger()

LOOKUP_TIMEOUT_S = 2.0
RETRY_AFTER_MS = 30_000


class Portals:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        sandbox: HubSpotClient,
        *,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._store = store
        self._sandbox = sandbox
        self._clock = clock
        self._sandbox_portal: str | None = None
        self._next_try_ms = 0
        self._lock = asyncio.Lock()

    async def sandbox_portal(self) -> str | None:
        """The sandbox's portal id, or None while the sandbox cannot be reached."""
        if self._sandbox_portal is not None or self._clock.now_ms() < self._next_try_ms:
            return self._sandbox_portal
        async with self._lock:
            if self._sandbox_portal is None and self._clock.now_ms() >= self._next_try_ms:
                try:
                    details = await asyncio.wait_for(
                        self._sandbox.check_token(self._settings.simcrm_sandbox_token),
                        LOOKUP_TIMEOUT_S,
                    )
                    self._sandbox_portal = details.portal_id
                except Exception as exc:
                    log.info("sandbox_portal_unknown", error=type(exc).__name__)
                    self._next_try_ms = self._clock.now_ms() + RETRY_AFTER_MS
        return self._sandbox_portal

    async def of_simulation(self, row: Simulation) -> str | None:
        """The account whose limits pace ``row`` (None when it cannot be told yet)."""
        if row.target == "sandbox":
            return await self.sandbox_portal()
        info = await self._store.credentials.info(row.owner_id)
        if info is None or info.portal_id is None:
            return None
        return str(info.portal_id)

    async def known(self) -> list[str]:
        """Every account the API knows of: the stored tokens' portals, then the sandbox's."""
        portals = [str(portal) for portal in await self._store.credentials.portal_ids()]
        sandbox = await self.sandbox_portal()
        if sandbox is not None and sandbox not in portals:
            portals.append(sandbox)
        return portals
