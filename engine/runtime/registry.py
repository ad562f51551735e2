"""The simulations a daemon knows: their status (refreshed from the store), model and target.

The store is the source of truth for status; every daemon re-reads the running and paused
simulations about twice a second, so a pause or cancel made through the API reaches every worker
within a second. A simulation's model and target are built once and kept while it is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from core.clock import Clock, SystemClock
from engine.crm import RateLimited, RateLimitPolicy, Throttled
from engine.model import SimulationModel, SimulationSpec
from engine.runtime.keys import SimKeys
from engine.runtime.timing import Timing
from engine.simulations import IllegalAction, Portals, Simulations, Target
from schema.errors import NotFound
from schema.simulations import Simulation, SimulationStatus
from schema.store import Store

ACTIVE = frozenset({SimulationStatus.RUNNING, SimulationStatus.PAUSED})
FORGET_AFTER_MS = 600_000  # a finished simulation is forgotten ten minutes after it ended
LOOKUP_RETRY_MS = 30_000  # when an account look-up refused by a 429 is tried again …
DAILY_RETRY_MS = 3_600_000  # … and when, if the account's daily budget refused it

log = structlog.get_logger()


@dataclass(slots=True)
class Known:
    """One simulation as the runtime holds it."""

    row: Simulation
    spec: SimulationSpec
    model: SimulationModel
    keys: SimKeys
    timing: Timing
    target: Target | None = field(default=None)

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def status(self) -> SimulationStatus:
        return self.row.status


class Registry:
    def __init__(
        self,
        store: Store,
        simulations: Simulations,
        portals: Portals,
        *,
        key_prefix: str,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._simulations = simulations
        self._portals = portals
        self._prefix = key_prefix
        self._clock: Clock = clock or SystemClock()
        self._known: dict[int, Known] = {}

    def known(self) -> list[Known]:
        """Every simulation this daemon has seen (active or not)."""
        return list(self._known.values())

    def active(self) -> list[Known]:
        """The running and paused simulations as of the last refresh."""
        return [known for known in self._known.values() if known.status in ACTIVE]

    async def refresh(self) -> None:
        """Re-read the statuses of running and paused simulations (and of those that stopped)."""
        rows = await self._store.simulations.list(statuses=ACTIVE, limit=10_000)
        seen = {row.id for row in rows}
        for row in rows:
            self._remember(row)
        for sim_id in [s for s, k in self._known.items() if s not in seen and k.status in ACTIVE]:
            try:
                self._remember(await self._store.simulations.get(sim_id))
            except NotFound:
                del self._known[sim_id]
        now = self._clock.now_ms()
        for sim_id, known in list(self._known.items()):
            ended = known.row.finished_at
            if ended is not None and now - ended.timestamp() * 1000 > FORGET_AFTER_MS:
                del self._known[sim_id]  # its counters were flushed long ago

    async def get(self, sim_id: int) -> Known | None:
        """The simulation, loaded from the store if this daemon has not seen it yet."""
        known = self._known.get(sim_id)
        if known is not None:
            return known
        try:
            row = await self._store.simulations.get(sim_id)
        except NotFound:
            return None
        return self._remember(row)

    async def target(self, known: Known) -> Target:
        """The simulation's CRM target (built on first use).

        Raises:
            TargetUnavailable: the CRM cannot be used (see :meth:`Portals.target`).
            Throttled: the account look-up met a 429. Learning the account is no job's work,
                so its jobs wait (no attempt spent) — for Retry-After, else a daily budget for
                an hour (when it comes back is unknown until the account is) and any other
                limit for LOOKUP_RETRY_MS.
        """
        if known.target is None:
            try:
                known.target = await self._portals.target(known.row)
            except RateLimited as exc:
                daily = exc.policy is RateLimitPolicy.DAILY
                wait = exc.retry_after_ms or (DAILY_RETRY_MS if daily else LOOKUP_RETRY_MS)
                raise Throttled(wait, f"account look-up met a {exc.policy} 429") from exc
        return known.target

    async def fail(self, known: Known, reason: str) -> None:
        """Mark the simulation failed (when it cannot go on: no usable CRM token)."""
        try:
            known.row = await self._simulations.fail(known.id, reason)
        except IllegalAction:
            return
        log.warning("simulation_failed", sim_id=known.id, reason=reason)

    def _remember(self, row: Simulation) -> Known:
        known = self._known.get(row.id)
        if known is not None:
            known.row = row
            if known.timing.anchor_ms == 0 and row.started_at is not None:
                known.timing = Timing.for_row(known.spec, row)
            return known
        spec = SimulationSpec.from_row(row)
        known = Known(
            row=row,
            spec=spec,
            model=SimulationModel(spec),
            keys=SimKeys(row.id, self._prefix),
            timing=Timing.for_row(spec, row),
        )
        self._known[row.id] = known
        return known
