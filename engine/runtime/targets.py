"""Where a simulation's objects go: the CRM account (portal), its token, and the client to use.

``target: sandbox`` sends to SIMCRM_SANDBOX_URL with SIMCRM_SANDBOX_TOKEN; ``target: hubspot``
sends to HUBSPOT_BASE_URL with the owner's stored token (decrypted with TOKEN_ENC_SECRET), or the
legacy HUBSPOT_API_TOKEN when the owner stored none. The account's portal id — the key of its
rate limits — comes from the stored credential, else from one account-info call, remembered.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from engine.crm import HubSpotTransport, PortalClient, check_token
from engine.settings import Settings
from schema.crypto import TokenCipher
from schema.errors import TokenDecryptError
from schema.simulations import Simulation
from schema.store import Store


class TargetUnavailable(Exception):
    """The simulation's CRM cannot be used (no token, or a token HubSpot refuses)."""


@dataclass(frozen=True, slots=True)
class Target:
    portal: PortalClient

    @property
    def portal_id(self) -> str:
        return self.portal.portal_id


class Targets:
    """Builds and remembers each simulation's target; owns nothing but two shared transports."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        hubspot: HubSpotTransport,
        sandbox: HubSpotTransport,
    ) -> None:
        self._settings = settings
        self._store = store
        self._hubspot = hubspot
        self._sandbox = sandbox
        self._portals: dict[tuple[str, str], str] = {}

    async def for_simulation(self, row: Simulation) -> Target:
        """The target of ``row``.

        Raises:
            TargetUnavailable: naming what is missing (never the token).
        """
        if row.target == "sandbox":
            token = self._settings.simcrm_sandbox_token
            return Target(await self._portal(self._sandbox, token, None))
        token, portal_id = await self._hubspot_token(row.owner_id)
        return Target(await self._portal(self._hubspot, token, portal_id))

    async def _hubspot_token(self, owner_id: int) -> tuple[SecretStr, str | None]:
        """The owner's stored token (and portal); the legacy global token only when the owner
        stored none — never instead of a stored token this process cannot read, which would
        send the simulation to another account."""
        info = await self._store.credentials.info(owner_id)
        if info is not None:
            keys = self._settings.token_keys()
            if not keys:
                raise TargetUnavailable(
                    "the owner's HubSpot token is stored encrypted, and this process has no "
                    "TOKEN_ENC_SECRET to read it"
                )
            try:
                token = await self._store.credentials.token(owner_id, TokenCipher(keys))
            except TokenDecryptError as exc:
                raise TargetUnavailable(
                    f"the owner's HubSpot token cannot be read: {exc}"
                ) from None
            portal = str(info.portal_id) if info.portal_id is not None else None
            return SecretStr(token or ""), portal
        if self._settings.hubspot_api_token is not None:
            return self._settings.hubspot_api_token, None
        raise TargetUnavailable(
            "the owner stored no HubSpot token (PUT /api/me/hubspot-token) and "
            "HUBSPOT_API_TOKEN is not set"
        )

    async def _portal(
        self, transport: HubSpotTransport, token: SecretStr, portal_id: str | None
    ) -> PortalClient:
        if portal_id is None:
            cache_key = (transport.base_url, token.get_secret_value())
            portal_id = self._portals.get(cache_key)
            if portal_id is None:
                details = await check_token(transport, token)
                portal_id = self._portals[cache_key] = details.portal_id
        return PortalClient(transport, portal_id, token)
