"""Which Redis database a test process works in, so parallel test processes never share one.

pytest-xdist runs the suite in worker processes named ``gw0``, ``gw1`` … (``PYTEST_XDIST_WORKER``).
Each worker empties its database before every test that asks for Redis, so each needs a database
of its own: worker ``gwN`` uses ``base - N``, counting down from ``SIMCRM_TEST_REDIS_DB`` (15, the
last of Redis's 16 databases); a run without workers uses ``base``. Whatever database the
configured URL names is replaced, so a developer's ``REDIS_URL`` never gets its data flushed.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_BASE = 15


class TooManyWorkersError(RuntimeError):
    """More workers than databases below the base; the message says what to change."""


def worker_number(worker: str | None) -> int:
    """``gw3`` → 3; no worker (a plain pytest run) → 0."""
    if not worker:
        return 0
    match = re.fullmatch(r"gw(\d+)", worker)
    if match is None:
        raise ValueError(f"unexpected pytest-xdist worker name {worker!r}")
    return int(match[1])


def worker_database(worker: str | None, base: int = DEFAULT_BASE) -> int:
    """The database of ``worker`` (``PYTEST_XDIST_WORKER``) when counting down from ``base``."""
    database = base - worker_number(worker)
    if database < 0:
        raise TooManyWorkersError(
            f"test worker {worker} would need Redis database {database}: run fewer workers (-n) "
            f"or raise SIMCRM_TEST_REDIS_DB (now {base}) on a server with more databases"
        )
    return database


def with_database(url: str, database: int) -> str:
    """``url`` pointing at ``database``: the path of a ``redis://`` URL, the ``db`` parameter of
    a ``unix://`` one (redis-py reads ``?db=`` before the path, so it is dropped from TCP URLs)."""
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "db"]
    if parts.scheme == "unix":
        # urlunsplit would turn unix:///path into unix:/path; only the query changes here.
        path = url.partition("?")[0].partition("#")[0]
        return f"{path}?{urlencode([*query, ('db', str(database))])}"
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"not a Redis URL: {parts.scheme}://…")
    return urlunsplit(parts._replace(path=f"/{database}", query=urlencode(query)))
