"""The runtime: how simulated time is cut and expanded into jobs, when optional work is thinned,
how often counters reach the database, and where ``target: sandbox`` simulations write.

``SIMCRM_SEGMENT_MINUTES``, ``SIMCRM_LOOKAHEAD_SEGMENTS``, ``SIMCRM_BACKFILL_WINDOW`` and
``SIMCRM_BACKLOG_MAX`` (the expander's :class:`ExpansionConfig`, whose defaults they keep),
``SIMCRM_RETENTION_HOURS`` (how long a finished simulation's Redis state and dead letters stay),
``THINNING_BACKLOG_THRESHOLD``, ``THINNING_EVENTS_MAX``, ``SIMCRM_FLUSH_INTERVAL_MS``,
``SIMCRM_SANDBOX_URL`` and ``SIMCRM_SANDBOX_TOKEN`` (a ``simcrm sandbox`` listens at that URL by
default).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, SecretStr

from engine.runtime.expander import ExpansionConfig
from engine.settings import parsers
from engine.settings.section import Section, variable

MINUTE_MS = 60_000
EXPANSION = ExpansionConfig()
DEFAULT_THINNING_BACKLOG_THRESHOLD = 50_000
DEFAULT_THINNING_EVENTS_MAX = 200
DEFAULT_FLUSH_INTERVAL_MS = 5_000
DEFAULT_RETENTION_HOURS = 168  # a week to replay a finished simulation's dead letters
HOUR_MS = 60 * MINUTE_MS
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8090"
DEFAULT_SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's well-known local token


class RuntimeSettings(Section):
    segment_minutes: Annotated[int, parsers.between(1, 1_440)] = variable(
        "SIMCRM_SEGMENT_MINUTES", default=EXPANSION.segment_ms // MINUTE_MS
    )
    lookahead_segments: Annotated[int, parsers.between(1, 168)] = variable(
        "SIMCRM_LOOKAHEAD_SEGMENTS", default=EXPANSION.lookahead_segments
    )
    backfill_window: Annotated[int, parsers.between(100, 10_000_000)] = variable(
        "SIMCRM_BACKFILL_WINDOW", default=EXPANSION.backfill_window
    )
    backlog_max: Annotated[int, parsers.between(100, 10_000_000)] = variable(
        "SIMCRM_BACKLOG_MAX", default=EXPANSION.backlog_max
    )
    retention_hours: Annotated[int, parsers.between(1, 8_760)] = variable(
        "SIMCRM_RETENTION_HOURS", default=DEFAULT_RETENTION_HOURS
    )
    thinning_backlog_threshold: Annotated[int, parsers.between(1, None)] = variable(
        "THINNING_BACKLOG_THRESHOLD", default=DEFAULT_THINNING_BACKLOG_THRESHOLD
    )
    thinning_events_max: Annotated[int, parsers.between(1, 100_000)] = variable(
        "THINNING_EVENTS_MAX", default=DEFAULT_THINNING_EVENTS_MAX
    )
    flush_interval_ms: Annotated[int, parsers.between(100, 3_600_000)] = variable(
        "SIMCRM_FLUSH_INTERVAL_MS", default=DEFAULT_FLUSH_INTERVAL_MS
    )
    sandbox_url: Annotated[str, BeforeValidator(parsers.url(("http", "https")))] = variable(
        "SIMCRM_SANDBOX_URL", default=DEFAULT_SANDBOX_URL
    )
    sandbox_token: SecretStr = variable(
        "SIMCRM_SANDBOX_TOKEN", default=SecretStr(DEFAULT_SANDBOX_TOKEN)
    )

    @property
    def segment_ms(self) -> int:
        """The length of a segment in milliseconds."""
        return self.segment_minutes * MINUTE_MS

    def expansion(self) -> ExpansionConfig:
        """The expander's config object."""
        return ExpansionConfig(
            segment_ms=self.segment_ms,
            lookahead_segments=self.lookahead_segments,
            backfill_window=self.backfill_window,
            backlog_max=self.backlog_max,
        )

    @property
    def retention_ms(self) -> int:
        """How long a finished simulation's Redis state and dead letters are kept."""
        return self.retention_hours * HOUR_MS
