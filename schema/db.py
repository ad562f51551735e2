"""Opening the database: URL normalisation and the async engine for SQLite or MySQL/MariaDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "mysql": "mysql+asyncmy"}


def normalize_url(url: str) -> str:
    """Give plain ``sqlite://`` and ``mysql://`` URLs their asyncio driver; reject other kinds.

    Raises:
        ValueError: the URL is not a SQLite or MySQL URL, or names a different driver.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ValueError(f"DATABASE_URL must be a sqlite:// or mysql:// URL, not {backend}://")
    wanted = _DRIVERS[backend]
    if parsed.drivername not in (backend, wanted):
        raise ValueError(f"DATABASE_URL must use the {wanted} driver, not {parsed.drivername}")
    return parsed.set(drivername=wanted).render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """The URL with any password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str) -> AsyncEngine:
    """An engine for ``url``; SQLite files get foreign keys, WAL and a busy timeout."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_recycle=3600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
