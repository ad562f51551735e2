"""Job telemetry shared by every process: latency and outcomes per job type, kept in Redis.

Workers record (:meth:`JobTelemetry.instrument` wraps a queue handler table); the API reads
(:meth:`JobTelemetry.read`) and serves the numbers at ``/metrics`` as a Prometheus histogram and
counter, so one scrape covers every daemon on every machine.
"""

from engine.telemetry.jobs import JobStats, JobTelemetry, TypeStats, outcome_name
from engine.telemetry.keys import TelemetryKeys

__all__ = ["JobStats", "JobTelemetry", "TelemetryKeys", "TypeStats", "outcome_name"]
