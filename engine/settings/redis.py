"""Where Redis is, and the prefix of every key SimCRM keeps there.

``REDIS_URL`` wins; else ``REDIS_HOST`` with ``REDIS_PORT``, ``REDIS_DB`` and ``REDIS_PASSWORD``
make a URL; with neither, :func:`engine.redis_endpoint.redis_endpoint` tries localhost at
``REDIS_PORT`` and then starts an embedded server. ``SIMCRM_KEY_PREFIX`` starts every queue,
simulation, telemetry and API key (:data:`core.keys.DEFAULT_KEY_PREFIX` unless set).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, SecretStr

from core.keys import DEFAULT_KEY_PREFIX
from engine.settings import parsers
from engine.settings.section import Section, variable

DEFAULT_PORT = 6379

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
