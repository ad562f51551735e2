"""Which HubSpot token a simulation owner's writes use, and the accounts of the stored tokens.

The rule, in one place: the owner's stored token (encrypted with TOKEN_ENC_SECRET, its portal id
kept beside it) when there is one; the legacy global HUBSPOT_API_TOKEN only when the owner stored
none — never instead of a stored token this process cannot read, which would send the simulation
to another account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import SecretStr

from engine.simulations.errors import MissingToken, NoTokenSecret, TargetUnavailable
from schema.crypto import TokenCipher
from schema.errors import TokenDecryptError
from schema.store import Store

if TYPE_CHECKING:
    from engine.settings import Settings

NOTHING_STORED = (
    "the owner stored no HubSpot token (PUT /api/me/hubspot-token) and HUBSPOT_API_TOKEN is not set"
)


class HubSpotTokens:
    """Owners' HubSpot tokens as the engine uses them (``keys``: TOKEN_ENC_SECRET and older
    secrets by key id; ``legacy``: HUBSPOT_API_TOKEN)."""

    def __init__(
        self,
        store: Store,
        *,
        keys: Mapping[str, bytes] | None = None,
        legacy: SecretStr | None = None,
    ) -> None:
        self._store = store
        self._keys = dict(keys or {})
        self._legacy = legacy

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> HubSpotTokens:
        return cls(store, keys=settings.security.token_keys(), legacy=settings.hubspot.api_token)

    async def available(self, owner_id: int) -> bool:
        """Whether the owner has a token to use: a stored one, or the legacy global one."""
        if self._legacy is not None:
            return True
        return await self._store.credentials.info(owner_id) is not None

    async def token(self, owner_id: int) -> tuple[SecretStr, str | None]:
        """The owner's token, and its portal id when it is stored beside it.

        Raises:
            MissingToken: the owner stored none and HUBSPOT_API_TOKEN is not set.
            NoTokenSecret: a token is stored and this process has no TOKEN_ENC_SECRET.
            TargetUnavailable: the stored token cannot be read (the wrong key); the message
                never contains the token.
        """
        info = await self._store.credentials.info(owner_id)
        if info is not None:
            if not self._keys:
                raise NoTokenSecret(
                    "the owner's HubSpot token is stored encrypted, and this process has no "
                    "TOKEN_ENC_SECRET to read it"
                )
            try:
                token = await self._store.credentials.token(owner_id, TokenCipher(self._keys))
            except TokenDecryptError as exc:
                raise TargetUnavailable(
                    f"the owner's HubSpot token cannot be read: {exc}"
                ) from None
            portal = str(info.portal_id) if info.portal_id is not None else None
            return SecretStr(token or ""), portal
        if self._legacy is not None:
            return self._legacy, None
        raise MissingToken(NOTHING_STORED)

    @property
    def can_decrypt(self) -> bool:
        """Whether this process has a key (TOKEN_ENC_SECRET) to read stored tokens with."""
        return bool(self._keys)

    async def stored_count(self) -> int:
        """How many owners have a token stored (encrypted)."""
        return await self._store.credentials.count()

    async def stored_portal_id(self, owner_id: int) -> str | None:
        """The portal id stored beside the owner's token (None: no token, or none recorded)."""
        info = await self._store.credentials.info(owner_id)
        if info is None or info.portal_id is None:
            return None
        return str(info.portal_id)

    async def portal_ids(self) -> list[str]:
        """Every account of a stored token, ascending."""
        return [str(portal) for portal in await self._store.credentials.portal_ids()]
