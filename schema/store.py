"""The Store: one object owning the database engine and the repositories built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from schema import migrate
from schema.counters import CountersRepo
from schema.credentials import CredentialsRepo
from schema.db import DEFAULT_TIMEOUT_MS, create_engine, database_name
from schema.errors import SchemaOutOfDate
from schema.simulations import SimulationsRepo
from schema.users import UsersRepo


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The durable store. Build it with :meth:`open`; it disposes of its engine on exit."""

    def __init__(self, engine: AsyncEngine, *, now: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.name = database_name(engine.url.render_as_string())
        self.users = UsersRepo(engine, now)
        self.credentials = CredentialsRepo(engine, now)
        self.simulations = SimulationsRepo(engine, now)
        self.counters = CountersRepo(engine)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        url: str,
        *,
        now: Callable[[], datetime] = utc_now,
        require_schema: bool = True,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> AsyncIterator[Store]:
        """Connect to ``url``; with ``require_schema`` refuse a database that is not migrated.
        No statement waits longer than ``timeout_ms`` for a lock or a connection.

        Raises:
            SchemaOutOfDate: the database is not at this code's newest revision.
        """
        engine = create_engine(url, timeout_ms=timeout_ms)
        try:
            store = cls(engine, now=now)
            if require_schema:
                await store.check_schema()
            yield store
        finally:
            await engine.dispose()

    async def migrate(self) -> tuple[str | None, str]:
        """Upgrade to the newest schema; returns the revisions before and after."""
        before = await migrate.current_revision(self.engine)
        await migrate.upgrade(self.engine)
        return before, migrate.head_revision()

    async def check_schema(self) -> None:
        current = await migrate.current_revision(self.engine)
        head = migrate.head_revision()
        if current != head:
            found = "no SimCRM tables" if current is None else f"schema revision {current}"
            raise SchemaOutOfDate(
                f"the database has {found}, this version needs {head}: run `simcrm migrate`"
            )

    async def ping(self) -> None:
        """One round trip to the database; raises what the driver raises when it is down."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def probe_write(self) -> None:
        """Take the write lock and give it back (an update rolled back): a database another
        connection holds locked fails this within the timeout, where a read may still pass.
        Needs a migrated database."""
        async with self.engine.connect() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            await conn.rollback()
