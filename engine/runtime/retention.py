"""How long a finished simulation keeps its Redis state, and how it goes.

While a simulation runs, its keys (:mod:`.keys`) and dead letters are its working state. Once it
has ended — completed, cancelled or failed — they are kept for SIMCRM_RETENTION_HOURS (a week by
default) after the moment it ended: long enough to replay its dead letters, which need the
recorded ids, the planned bitmap and the budgets to stay exactly-once, and to clean it up
(``simcrm cleanup`` archives from the recorded ids). Then they go:

* every key of the simulation carries an expiry at ``finished_at + retention`` (PEXPIREAT, set
  again on each sweep, so a key a late job writes anew — a cancelled run's jobs being skipped —
  expires with the others), set only after its live counters were written to the database. A
  replay reopens the simulation and takes the expiry off its keys (:mod:`.replay`) while the
  replayed jobs run; the sweep skips a simulation that is no longer finished, and sets the expiry
  again, from the new end, once it has ended again;
* the first sweep after the retention ended deletes whatever is left and purges its dead letters
  (the dead-letter stream is shared by the shard, so its entries cannot expire on their own).

A cleanup that archived everything forgets the simulation at once (:func:`forget`). The control
loop sweeps about once a minute, over the simulations that ended within twice the retention.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from core.clock import Clock
from engine.runtime import metrics
from engine.runtime.keys import SimKeys
from schema.errors import NotFound
from schema.simulations import FINAL_STATUSES, Simulation
from schema.store import Store
from streams import Queue

log = structlog.get_logger()

SWEEP_MS = 60_000
LIST_LIMIT = 10_000


async def forget(redis: Any, queue: Queue, keys: SimKeys) -> None:
    """Delete every key of the simulation and purge its dead letters (its counters must be in
    the database already)."""
    await redis.delete(*keys.all(), keys.expand_lock)
    scope = str(keys.sim_id)
    if (await queue.dead_letters.scope(scope)).total:
        await queue.dead_letters.purge(scope)


class Retention:
    def __init__(
        self,
        redis: Any,
        store: Store,
        queue: Queue,
        *,
        key_prefix: str,
        retention_ms: int,
        clock: Clock,
    ) -> None:
        self._redis = redis
        self._store = store
        self._queue = queue
        self._prefix = key_prefix
        self.retention_ms = retention_ms
        self._clock = clock
        self._flushed: dict[int, metrics.Counts] = {}  # sim id -> live counts last written
        self._forgotten: set[int] = set()  # forgotten by this daemon: nothing left to do

    async def sweep(self) -> None:
        """Expire or forget the state of every simulation that ended within twice the
        retention, and purge the dead letters of older ones still holding any."""
        now = self._clock.now_ms()
        since = datetime.fromtimestamp((now - 2 * self.retention_ms) / 1000, tz=UTC)
        rows = await self._store.simulations.list(
            statuses=FINAL_STATUSES, finished_since=since, limit=LIST_LIMIT
        )
        for row in rows:
            await self._retire(row, now)
        await self._purge_older(now, {row.id for row in rows})

    def ends_ms(self, row: Simulation) -> int:
        """When the finished simulation's state goes."""
        assert row.finished_at is not None
        return int(row.finished_at.timestamp() * 1000) + self.retention_ms

    async def _retire(self, row: Simulation, now: int) -> None:
        if row.id in self._forgotten:
            return
        try:
            current = await self._store.simulations.get(row.id)
        except NotFound:
            return
        if current.status not in FINAL_STATUSES:  # reopened by a replay since it was listed
            return
        keys = SimKeys(row.id, self._prefix)
        ends = self.ends_ms(row)
        counts = await metrics.read(self._redis, keys)
        if counts and counts != self._flushed.get(row.id):
            await self._store.counters.raise_to(row.id, metrics.flat(counts))
            self._flushed[row.id] = counts
        if now >= ends:
            await forget(self._redis, self._queue, keys)
            self._flushed.pop(row.id, None)
            self._forgotten.add(row.id)
            log.info("simulation_state_forgotten", sim_id=row.id)
            return
        pipe = self._redis.pipeline(transaction=False)
        for key in keys.all():
            pipe.pexpireat(key, ends)
        await pipe.execute()

    async def _purge_older(self, now: int, seen: set[int]) -> None:
        """Dead letters of simulations that ended before the listed window (a deployment whose
        daemons were stopped for longer than the retention)."""
        summary = await self._queue.dead_letters.summary()
        for scope in summary.scopes:
            if not scope.isdigit() or int(scope) in seen:
                continue
            try:
                row = await self._store.simulations.get(int(scope))
            except NotFound:
                continue  # not this database's: left to whoever owns it
            if row.status.is_final and row.finished_at is not None and now >= self.ends_ms(row):
                await forget(self._redis, self._queue, SimKeys(row.id, self._prefix))
                log.info("simulation_state_forgotten", sim_id=row.id)
