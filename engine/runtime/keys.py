"""Every Redis key the runtime keeps for a simulation, all under the hash tag ``{s<id>}``.

Under the configured key prefix (``simcrm`` by default), simulation 42 holds::

    simcrm:{s42}:metrics        hash    "<type>:<metric>" -> count (live progress, SPEC §9)
    simcrm:{s42}:segments       hash    "<n>:upto" (records of segment n enqueued up to),
                                        "<n>:at" (first expansion, ms), "next" (first segment
                                        not fully expanded)
    simcrm:{s42}:ids            hash    object key ("42:contact:7") -> CRM id, for idempotency
    simcrm:{s42}:planned        bitmap  bit i set once record i's activities are planned
    simcrm:{s42}:plans          hash    record index -> admitted plan not yet fully enqueued
    simcrm:{s42}:budget         hash    activity type -> remaining simulation-wide budget
    simcrm:{s42}:thinning       list    newest thinning events first (capped)
    simcrm:{s42}:uncertain      hash    job id -> "sent:<ms>" while a create is in flight, or the
                                        ms its answer was seen lost (looked up before a resend)
    simcrm:{s42}:progress       hash    object key -> highest progression step sent (lifecycle
                                        and deal stages never move back)
    simcrm:{s42}:expand-lock    string  a short lease held by the daemon expanding segments
    simcrm:{s42}:incarnation    string  which database row these keys belong to (its creation
                                        time): keys left by a simulation of another database
                                        that had the same id are recognised and dropped

Because they share one tag, a Lua script may touch any of them atomically on a Redis Cluster.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimKeys:
    """The keys of simulation ``sim_id`` under ``prefix``, the deployment's SIMCRM_KEY_PREFIX."""

    sim_id: int
    prefix: str

    @property
    def tag(self) -> str:
        return f"{self.prefix}:{{s{self.sim_id}}}"

    @property
    def metrics(self) -> str:
        return f"{self.tag}:metrics"

    @property
    def segments(self) -> str:
        return f"{self.tag}:segments"

    @property
    def expand_lock(self) -> str:
        return f"{self.tag}:expand-lock"

    @property
    def incarnation(self) -> str:
        return f"{self.tag}:incarnation"

    @property
    def uncertain(self) -> str:
        return f"{self.tag}:uncertain"

    @property
    def progress(self) -> str:
        return f"{self.tag}:progress"

    @property
    def ids(self) -> str:
        return f"{self.tag}:ids"

    @property
    def planned(self) -> str:
        return f"{self.tag}:planned"

    @property
    def plans(self) -> str:
        return f"{self.tag}:plans"

    @property
    def budget(self) -> str:
        return f"{self.tag}:budget"

    @property
    def thinning(self) -> str:
        return f"{self.tag}:thinning"

    def all(self) -> list[str]:
        """Every key of the simulation (the lock expires on its own)."""
        return [
            self.incarnation,
            self.uncertain,
            self.progress,
            self.metrics,
            self.segments,
            self.ids,
            self.planned,
            self.plans,
            self.budget,
            self.thinning,
        ]
