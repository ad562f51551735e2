"""Opening the database: URL normalisation and the async engine for SQLite or MySQL/MariaDB.

Every engine waits at most ``timeout_ms`` for the database (:data:`DEFAULT_TIMEOUT_MS` unless
told): SQLite's busy timeout (how long a statement waits for a lock another connection holds);
for MySQL/MariaDB the connect timeout and InnoDB's row-lock wait (whole seconds, at least 1), and
the wait for a pooled connection. Past it the driver raises (``database is locked``, ``Lock wait
timeout exceeded``, ``Can't connect``), which :data:`UNAVAILABLE` classifies.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "mysql": "mysql+asyncmy"}
DEFAULT_TIMEOUT_MS = 5_000

UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,  # locked, lock wait timeout, connection refused or lost
    exc.InterfaceError,  # the driver's link is unusable
    exc.TimeoutError,  # no pooled connection came free in time
)
"""What the database (not the request) is at fault for: the caller may retry later."""


def unavailable_reason(error: BaseException) -> str:
    """``locked`` or ``unreachable``: what to tell about an :data:`UNAVAILABLE` error. (The
    driver's own message is never repeated: it quotes the statement and its parameters.)"""
    text = str(getattr(error, "orig", None) or error).lower()
    return "locked" if "lock" in text else "unreachable"


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


def database_name(url: str) -> str:
    """Which database, for answers a user sees: ``sqlite database simcrm.db``, ``mysql database
    simcrm`` (no host, user or directory)."""
    parsed = make_url(url)
    name = Path(parsed.database or "").name or parsed.database or "default"
    return f"{parsed.get_backend_name()} database {name}"


def create_engine(url: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> AsyncEngine:
    """An engine for ``url`` that waits at most ``timeout_ms`` for locks and connections;
    SQLite files get foreign keys and WAL."""
    url = normalize_url(url)
    parsed = make_url(url)
    seconds = timeout_ms / 1000
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": seconds})
        event.listen(engine.sync_engine, "connect", partial(_sqlite_pragmas, timeout_ms))
        return engine
    whole = max(1, math.ceil(seconds))
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=3600,
        pool_timeout=seconds,
        connect_args={
            "connect_timeout": whole,
            "init_command": f"SET SESSION innodb_lock_wait_timeout = {whole}",
        },
    )


def _sqlite_pragmas(timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
