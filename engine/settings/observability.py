"""What SimCRM tells about itself: live progress in Redis (``REDIS_PROGRESS``), Prometheus metrics
(``METRICS_PROM_ENABLED``, ``PROM_DEFAULT_BUCKETS`` in ms, ``METRICS_TOKEN`` the bearer token a
scraper must send to see them — per-account limiter series included) and logs (``LOG_LEVEL``,
``LOG_FORMAT``: ``json`` or ``console``, by default console on a terminal and JSON otherwise)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from engine.logs import DEFAULT_LEVEL, FORMATS
from engine.settings import parsers
from engine.settings.section import Section, variable

DEFAULT_BUCKETS_MS = (50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0)

Flag = Annotated[bool, BeforeValidator(parsers.flag)]


class ObservabilitySettings(Section):
    redis_progress: Flag = variable("REDIS_PROGRESS", default=True)
    prometheus: Flag = variable("METRICS_PROM_ENABLED", default=False)
    buckets_ms: Annotated[
        tuple[float, ...],
        NoDecode,
        BeforeValidator(parsers.number_list(float, "a comma-separated list of milliseconds")),
    ] = variable("PROM_DEFAULT_BUCKETS", default=DEFAULT_BUCKETS_MS)
    metrics_token: SecretStr | None = variable("METRICS_TOKEN")
    log_level: Annotated[str, BeforeValidator(parsers.lower)] = variable(
        "LOG_LEVEL", default=DEFAULT_LEVEL
    )
    log_format: Annotated[str | None, BeforeValidator(parsers.choice(FORMATS))] = variable(
        "LOG_FORMAT"
    )
