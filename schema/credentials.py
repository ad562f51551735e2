"""HubSpot private-app tokens, one per user, encrypted at rest (see schema/crypto.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.crypto import TokenCipher
from schema.tables import hubspot_credentials as creds


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What may be shown about a stored token: never the token itself."""

    user_id: int
    last4: str
    key_id: str
    portal_id: int | None
    updated_at: datetime


def _context(user_id: int) -> bytes:
    return f"simcrm:hubspot-token:user:{user_id}".encode()


class CredentialsRepo:
    """Store, read, rotate and delete each user's HubSpot token."""

    def __init__(self, engine: AsyncEngine, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now

    async def put(
        self, user_id: int, token: str, cipher: TokenCipher, *, portal_id: int | None = None
    ) -> CredentialInfo:
        """Store (or replace) the user's token, encrypted with the cipher's current key."""
        if not token.strip():
            raise ValueError("token must not be empty")
        blob, key_id = cipher.encrypt(token, context=_context(user_id))
        now = self._now()
        values = {
            "ciphertext": blob,
            "key_id": key_id,
            "last4": token[-4:],
            "portal_id": portal_id,
            "updated_at": now,
        }
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(creds).where(creds.c.user_id == user_id).values(**values)
            )
            if result.rowcount == 0:
                await conn.execute(creds.insert().values(user_id=user_id, created_at=now, **values))
        return CredentialInfo(user_id, token[-4:], key_id, portal_id, now)

    async def info(self, user_id: int) -> CredentialInfo | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(creds).where(creds.c.user_id == user_id))).first()
        if row is None:
            return None
        return CredentialInfo(row.user_id, row.last4, row.key_id, row.portal_id, row.updated_at)

    async def token(self, user_id: int, cipher: TokenCipher) -> str | None:
        """The user's decrypted token, or None when they stored none.

        Raises:
            TokenDecryptError: the row cannot be decrypted with the configured keys.
        """
        query = select(creds.c.ciphertext, creds.c.key_id).where(creds.c.user_id == user_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return cipher.decrypt(bytes(row.ciphertext), row.key_id, context=_context(user_id))

    async def count(self) -> int:
        """How many users have a token stored."""
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(creds))).scalar_one())

    async def portal_ids(self) -> list[int]:
        """The distinct HubSpot accounts (portal ids) of the stored tokens, ascending."""
        query = (
            select(creds.c.portal_id)
            .where(creds.c.portal_id.is_not(None))
            .distinct()
            .order_by(creds.c.portal_id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [int(row.portal_id) for row in rows]

    async def delete(self, user_id: int) -> bool:
        """Remove the user's token; True when there was one."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(creds).where(creds.c.user_id == user_id))
        return bool(result.rowcount)

    async def reencrypt(self, cipher: TokenCipher) -> int:
        """Re-seal every token not yet under the current key; returns how many were rewritten."""
        query = select(creds.c.user_id, creds.c.ciphertext, creds.c.key_id).where(
            creds.c.key_id != cipher.current_key_id
        )
        async with self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            for row in rows:
                context = _context(row.user_id)
                token = cipher.decrypt(bytes(row.ciphertext), row.key_id, context=context)
                blob, key_id = cipher.encrypt(token, context=context)
                await conn.execute(
                    update(creds)
                    .where(creds.c.user_id == row.user_id)
                    .values(ciphertext=blob, key_id=key_id, updated_at=self._now())
                )
        return len(rows)
