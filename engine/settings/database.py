"""Which database the store opens.

``DATABASE_URL`` wins (``sqlite://…`` or ``mysql://…``, the asyncio drivers filled in by the
store); else the original's ``DB_HOST``, ``DB_PORT``, ``DB_USER``, ``DB_PASS`` and ``DB_NAME``
make a MySQL URL; with neither, a SQLite file ``./simcrm.db``. ``DATABASE_TIMEOUT_MS`` bounds how
long a statement waits for a lock or a connection before the database counts as unavailable.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from pydantic import BeforeValidator, SecretStr

from engine.settings import parsers
from engine.settings.section import Section, variable
from schema.db import DEFAULT_TIMEOUT_MS

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./simcrm.db"
DEFAULT_MYSQL_PORT = 3306
DEFAULT_MYSQL_USER = "root"
DEFAULT_MYSQL_NAME = "simcrm"


DatabaseUrl = Annotated[str | None, BeforeValidator(parsers.url(("sqlite", "mysql")))]
Port = Annotated[int, parsers.between(1, 65535)]


class DatabaseSettings(Section):
    url: DatabaseUrl = variable("DATABASE_URL")
    host: str | None = variable("DB_HOST")
    port: Port = variable("DB_PORT", default=DEFAULT_MYSQL_PORT)
    user: str | None = variable("DB_USER")
    password: SecretStr | None = variable("DB_PASS")
    name: str | None = variable("DB_NAME")
    timeout_ms: Annotated[int, parsers.between(100, 600_000)] = variable(
        "DATABASE_TIMEOUT_MS", default=DEFAULT_TIMEOUT_MS
    )

    @property
    def configured(self) -> bool:
        """Whether a database was named (DATABASE_URL or DB_HOST), rather than the default."""
        return self.url is not None or self.host is not None

    def resolved_url(self) -> str:
        """DATABASE_URL, else a MySQL URL from the DB_* variables, else ``./simcrm.db``."""
        if self.url:
            return self.url
        if self.host:
            user = quote(self.user or DEFAULT_MYSQL_USER, safe="")
            password = self.password.get_secret_value() if self.password else ""
            auth = f"{user}:{quote(password, safe='')}" if password else user
            name = self.name or DEFAULT_MYSQL_NAME
            return f"mysql+asyncmy://{auth}@{self.host}:{self.port}/{name}"
        return DEFAULT_DATABASE_URL
