"""The HubSpot client: where it sends requests, with which legacy token, how long it waits, how
many connections it keeps, and two facts about HubSpot the runtime relies on.

``HUBSPOT_BASE_URL``, ``HUBSPOT_API_TOKEN`` (the legacy global token; per-user tokens are
preferred), ``HUBSPOT_TIMEOUT_MS``, ``HUBSPOT_CONNECT_TIMEOUT_MS``, ``HUBSPOT_MAX_CONNECTIONS``,
``HUBSPOT_SEARCH_LAG_MS`` (how long search may miss a new object) and
``HUBSPOT_WRITE_CREATEDATE`` (send each object's simulated ``createdate``). Defaults are the
client's and the runtime's own.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, SecretStr

from engine.crm.transport import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT_MS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT_MS,
)
from engine.runtime.context import DEFAULT_SEARCH_LAG_MS
from engine.settings import parsers
from engine.settings.section import Section, variable

HttpUrl = Annotated[str, BeforeValidator(parsers.url(("http", "https")))]
Timeout = Annotated[int, parsers.between(100, 600_000)]
Flag = Annotated[bool, BeforeValidator(parsers.flag)]


class HubSpotSettings(Section):
    base_url: HttpUrl = variable("HUBSPOT_BASE_URL", default=DEFAULT_BASE_URL)
    api_token: SecretStr | None = variable("HUBSPOT_API_TOKEN")
    timeout_ms: Timeout = variable("HUBSPOT_TIMEOUT_MS", default=DEFAULT_TIMEOUT_MS)
    connect_timeout_ms: Timeout = variable(
        "HUBSPOT_CONNECT_TIMEOUT_MS", default=DEFAULT_CONNECT_TIMEOUT_MS
    )
    max_connections: Annotated[int, parsers.between(1, 1_000)] = variable(
        "HUBSPOT_MAX_CONNECTIONS", default=DEFAULT_MAX_CONNECTIONS
    )
    search_lag_ms: Annotated[int, parsers.between(0, 600_000)] = variable(
        "HUBSPOT_SEARCH_LAG_MS", default=DEFAULT_SEARCH_LAG_MS
    )
    write_createdate: Flag = variable("HUBSPOT_WRITE_CREATEDATE", default=True)
