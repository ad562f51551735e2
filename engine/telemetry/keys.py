"""The Redis keys of job telemetry (one hash, hash tag ``{telemetry}``).

Under the configured key prefix (``simcrm`` by default)::

    simcrm:{telemetry}:jobs   hash   "<type>:out:<outcome>" -> jobs settled with that outcome
                                     "<type>:le:<bound ms>" -> jobs that took at most the bound
                                                              (and more than the previous one;
                                                              "+Inf" for the rest)
                                     "<type>:sum_ms", "<type>:count" -> total time, job count
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TelemetryKeys:
    """The telemetry keys under ``prefix``, the deployment's SIMCRM_KEY_PREFIX."""

    prefix: str

    @property
    def jobs(self) -> str:
        return f"{self.prefix}:{{telemetry}}:jobs"
