"""Job telemetry: latency and outcomes per job type, the queue and the limits, for Prometheus.

Workers record into Redis (:meth:`JobTelemetry.instrument` wraps a queue handler table); the API
reads (:meth:`JobTelemetry.read`) and serves the numbers at ``/metrics`` as a Prometheus histogram
and counter, so one scrape covers every daemon on every machine. Each daemon can also serve its
own numbers (:mod:`engine.telemetry.daemon`, ``--metrics-port``). Both describe the queue and the
limiter with the families of :mod:`engine.telemetry.families`.
"""

from engine.telemetry.jobs import JobStats, JobTelemetry, TypeStats, outcome_name
from engine.telemetry.keys import TelemetryKeys

__all__ = ["JobStats", "JobTelemetry", "TelemetryKeys", "TypeStats", "outcome_name"]
