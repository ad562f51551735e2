"""Where Redis is, and the prefix of every key SimCRM keeps there.

``REDIS_URL`` wins; else ``REDIS_HOST`` with ``REDIS_PORT``, ``REDIS_DB`` and ``REDIS_PASSWORD``
make a URL; with neither, :func:`engine.redis_endpoint.redis_endpoint` tries localhost at
``REDIS_PORT`` and then starts an embedded server. ``SIMCRM_KEY_PREFIX`` starts every queue,
simulation, telemetry and API key (:data:`core.keys.DEFAULT_KEY_PREFIX` unless set).

``REDIS_SOCKET_TIMEOUT_MS`` bounds how long a worker waits for any Redis reply or connection: a
server that stopped answering (frozen, or a link dropped without a reset) is noticed then, not
never. It must exceed the worker's blocking reads (1 s).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, SecretStr

from core.keys import DEFAULT_KEY_PREFIX
from engine.settings import parsers
from engine.settings.section import Section, variable

DEFAULT_PORT = 6379
DEFAULT_SOCKET_TIMEOUT_MS = 5_000
HEALTH_CHECK_INTERVAL_S = 15  # a connection idle this long is pinged before it is used again

RedisUrl = Annotated[str | None, BeforeValidator(parsers.url(("redis", "rediss", "unix")))]
Port = Annotated[int, parsers.between(1, 65535)]
Database = Annotated[int, parsers.between(0, None)]
KeyPrefix = Annotated[str, BeforeValidator(parsers.key_prefix)]


class RedisSettings(Section):
    url: RedisUrl = variable("REDIS_URL")
    host: str | None = variable("REDIS_HOST")
    port: Port = variable("REDIS_PORT", default=DEFAULT_PORT)
    db: Database = variable("REDIS_DB", default=0)
    password: SecretStr | None = variable("REDIS_PASSWORD")
    key_prefix: KeyPrefix = variable("SIMCRM_KEY_PREFIX", default=DEFAULT_KEY_PREFIX)
    socket_timeout_ms: Annotated[int, parsers.between(2_000, 600_000)] = variable(
        "REDIS_SOCKET_TIMEOUT_MS", default=DEFAULT_SOCKET_TIMEOUT_MS
    )

    def client_options(self, url: str) -> dict[str, Any]:
        """redis-py options for a worker's client of ``url``: replies and connections bounded by
        the socket timeout, idle connections checked before use, and TCP keepalive on a TCP
        connection (a unix socket has none: redis-py refuses the option there)."""
        seconds = self.socket_timeout_ms / 1000
        options: dict[str, Any] = {
            "socket_timeout": seconds,
            "socket_connect_timeout": seconds,
            "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        }
        if not url.startswith("unix:"):
            options["socket_keepalive"] = True
        return options
