"""Users and their API keys (stored as hashes only).

A user holds one API key at a time. Rotating it replaces the stored hash (the old key stops
working, the new one is returned once); revoking it clears the hash (no key works until the next
rotation). A disabled user keeps their key and their simulations, but no key of theirs
authenticates until they are enabled again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.crypto import hash_api_key, new_api_key, same_hash
from schema.errors import DuplicateEmail
from schema.tables import users


class Role(StrEnum):
    """A member sees their own simulations; a boss sees all of them and the dead letters."""

    MEMBER = "member"
    BOSS = "boss"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None
    has_key: bool = True

    @property
    def is_boss(self) -> bool:
        return self.role is Role.BOSS

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        role=Role(row.role),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        has_key=row.api_key_hash is not None,
    )


class UsersRepo:
    """Create users and find them by id or API key."""

    def __init__(self, engine: AsyncEngine, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now

    async def create(self, email: str, role: Role = Role.MEMBER) -> tuple[User, str]:
        """Create a user; returns the user and their API key, which is not stored anywhere.

        Raises:
            DuplicateEmail: a user with this email (compared case-insensitively) exists.
        """
        email = email.strip().lower()
        api_key = new_api_key()
        created_at = self._now()
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    insert(users).values(
                        email=email,
                        role=role.value,
                        api_key_hash=hash_api_key(api_key),
                        created_at=created_at,
                    )
                )
        except IntegrityError:
            raise DuplicateEmail(f"a user with email {email} exists already") from None
        user_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        if user_id is None:
            raise RuntimeError("the database returned no id for the new user")
        return User(id=int(user_id), email=email, role=role, created_at=created_at), api_key

    async def get(self, user_id: int) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        return None if row is None else _user(row)

    async def by_email(self, email: str) -> User | None:
        async with self._engine.connect() as conn:
            query = select(users).where(users.c.email == email.strip().lower())
            row = (await conn.execute(query)).first()
        return None if row is None else _user(row)

    async def by_api_key(self, api_key: str) -> User | None:
        """The enabled user holding ``api_key``, or None (no such key, or its user is
        disabled). The key itself never reaches the database."""
        digest = hash_api_key(api_key)
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.api_key_hash == digest))).first()
        if row is None or row.disabled_at is not None or not same_hash(row.api_key_hash, digest):
            return None
        return _user(row)

    async def find(self, who: str) -> User | None:
        """The user named by ``who``: an id (digits) or an email address."""
        if who.strip().isdigit():
            return await self.get(int(who))
        return await self.by_email(who)

    async def rotate_key(self, user_id: int) -> str | None:
        """Give the user a new API key (the old one stops working); returns it, or None when
        there is no such user. Only its hash is stored."""
        api_key = new_api_key()
        changed = await self._set(user_id, api_key_hash=hash_api_key(api_key))
        return api_key if changed else None

    async def revoke_key(self, user_id: int) -> bool:
        """Remove the user's API key: none works until the next rotation. False: no such
        user."""
        return await self._set(user_id, api_key_hash=None)

    async def set_disabled(self, user_id: int, disabled: bool) -> User | None:
        """Disable (or enable again) the user; returns the user as it is now, or None."""
        if not await self._set(user_id, disabled_at=self._now() if disabled else None):
            return None
        return await self.get(user_id)

    async def _set(self, user_id: int, **values: Any) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(update(users).where(users.c.id == user_id).values(**values))
        return bool(result.rowcount)

    async def list(self) -> list[User]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(users).order_by(users.c.id))).all()
        return [_user(row) for row in rows]
