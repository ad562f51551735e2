"""The job queue's options (:class:`streams.QueueConfig`) as a worker daemon and the API use it.

``SIMCRM_QUEUE_SHARDS`` (fixed for the life of the data), ``SIMCRM_CONCURRENCY`` and
``SIMCRM_READ_COUNT``, ``SIMCRM_VISIBILITY_MS`` (claims are renewed every third of it),
``SIMCRM_GRACE_MS``, ``DLQ_SAMPLE_MAX`` and ``DLQ_REPLAY_LIMIT_CAP``. Their defaults are the
queue's own, except how many jobs a daemon holds and reads at once.
"""

from __future__ import annotations

from typing import Annotated

from engine.settings import parsers
from engine.settings.section import Section, variable
from streams.config import (
    DEFAULT_DEAD_SAMPLE_MAX,
    DEFAULT_GRACE_MS,
    DEFAULT_REPLAY_LIMIT_CAP,
    DEFAULT_SHARDS,
    DEFAULT_VISIBILITY_MS,
    MAX_READ_COUNT,
    MAX_REPLAY_LIMIT_CAP,
    QueueConfig,
)
from streams.keys import MAX_SHARDS

# A daemon's jobs spend most of their time waiting on HubSpot, so it holds (and reads) ten times
# as many at once as the queue's own defaults, which suit a process whose jobs keep it busy.
DAEMON_CONCURRENCY = 1_000
DAEMON_READ_COUNT = 1_000


class QueueSettings(Section):
    shards: Annotated[int, parsers.between(1, MAX_SHARDS)] = variable(
        "SIMCRM_QUEUE_SHARDS", default=DEFAULT_SHARDS
    )
    concurrency: Annotated[int, parsers.between(1, 10_000)] = variable(
        "SIMCRM_CONCURRENCY", default=DAEMON_CONCURRENCY
    )
    read_count: Annotated[int, parsers.between(1, MAX_READ_COUNT)] = variable(
        "SIMCRM_READ_COUNT", default=DAEMON_READ_COUNT
    )
    visibility_ms: Annotated[int, parsers.between(1_000, 3_600_000)] = variable(
        "SIMCRM_VISIBILITY_MS", default=DEFAULT_VISIBILITY_MS
    )
    grace_ms: Annotated[int, parsers.between(0, 3_600_000)] = variable(
        "SIMCRM_GRACE_MS", default=DEFAULT_GRACE_MS
    )
    dead_sample_max: Annotated[int, parsers.between(1, 10_000)] = variable(
        "DLQ_SAMPLE_MAX", default=DEFAULT_DEAD_SAMPLE_MAX
    )
    replay_limit_cap: Annotated[int, parsers.between(1, MAX_REPLAY_LIMIT_CAP)] = variable(
        "DLQ_REPLAY_LIMIT_CAP", default=DEFAULT_REPLAY_LIMIT_CAP
    )

    def config(self, prefix: str) -> QueueConfig:
        """The queue's config object, its keys under ``prefix`` (the deployment's
        SIMCRM_KEY_PREFIX); the queue's own defaults for everything not set here."""
        return QueueConfig(
            shards=self.shards,
            prefix=prefix,
            concurrency=self.concurrency,
            read_count=self.read_count,
            visibility_ms=self.visibility_ms,
            heartbeat_ms=self.visibility_ms // 3,
            grace_ms=self.grace_ms,
            dead_sample_max=self.dead_sample_max,
            replay_limit_cap=self.replay_limit_cap,
        )
