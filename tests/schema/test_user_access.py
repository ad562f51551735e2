"""Disabling users and rotating or revoking their API keys, on SQLite and MariaDB alike, and the
migration that made room for it."""

from __future__ import annotations

from sqlalchemy import insert, select

from schema import migrate
from schema.crypto import hash_api_key
from schema.store import Store
from schema.tables import users
from tests.conftest import Clock


async def test_upgrade_keeps_users_and_their_keys(database_url: str, clock: Clock) -> None:
    """A user made before the upgrade keeps their key and is enabled; downgrading again keeps
    every user, a revoked key becoming one that matches no key."""
    async with Store.open(database_url, require_schema=False, now=clock) as store:
        await migrate.upgrade(store.engine, "0001")
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(users).values(
                    email="old@example.com",
                    role="member",
                    api_key_hash=hash_api_key("old-key"),
                    created_at=clock(),
                )
            )
        await store.migrate()
        old = await store.users.by_api_key("old-key")
        assert old is not None and not old.disabled and old.has_key
        assert await store.users.revoke_key(old.id)
        await migrate.downgrade(store.engine, "0001")
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(users.c.email, users.c.api_key_hash))).all()
        assert [row.email for row in rows] == ["old@example.com"]
        assert rows[0].api_key_hash not in (None, hash_api_key("old-key"))


async def test_rotate_revoke_disable(store: Store) -> None:
    """Rotation gives a new key and retires the old; revocation leaves none; a disabled user's
    key finds nobody until they are enabled; unknown users are reported, not created."""
    user, first = await store.users.create("keys@example.com")
    second = await store.users.rotate_key(user.id)
    assert second is not None and second != first
    assert await store.users.by_api_key(first) is None
    assert (await store.users.by_api_key(second)) == await store.users.get(user.id)

    disabled = await store.users.set_disabled(user.id, True)
    assert disabled is not None and disabled.disabled
    assert await store.users.by_api_key(second) is None
    assert await store.users.set_disabled(user.id, True) is not None  # twice is fine
    enabled = await store.users.set_disabled(user.id, False)
    assert enabled is not None and not enabled.disabled
    assert await store.users.by_api_key(second) is not None

    assert await store.users.revoke_key(user.id)
    assert await store.users.revoke_key(user.id)  # revoking a revoked key is no error
    assert await store.users.by_api_key(second) is None
    found = await store.users.find("keys@example.com")
    assert found is not None and not found.has_key
    assert await store.users.find(str(user.id)) == found
    assert await store.users.rotate_key(999_999) is None
    assert not await store.users.revoke_key(999_999)
    assert await store.users.set_disabled(999_999, True) is None
