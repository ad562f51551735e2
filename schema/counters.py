"""Durable counters per simulation, object type and metric (created, failed, dead, thinned …).

Redis holds the live numbers while a simulation runs; these rows are what survives it. Increments
are atomic upserts, so several daemons can flush into the same row without losing an update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Executable, func, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.tables import simulation_counters as counters

Counts = dict[str, dict[str, int]]
"""``{object_type: {metric: value}}``"""

Merge = Callable[[Any, Any, str], Any]
"""``(stored, incoming, dialect name) -> the new value``, as SQL expressions."""


def _add(stored: Any, incoming: Any, dialect: str) -> Any:
    return stored + incoming


def _highest(stored: Any, incoming: Any, dialect: str) -> Any:
    # SQLite's two-argument max() is MySQL's greatest().
    return (func.greatest if dialect == "mysql" else func.max)(stored, incoming)


class CountersRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def increment(self, sim_id: int, deltas: Mapping[tuple[str, str], int]) -> None:
        """Add each ``{(object_type, metric): n}`` to its counter, creating it at 0 first.

        All deltas land in one transaction: either every counter moves or none does.
        """
        await self._upsert(sim_id, {key: n for key, n in deltas.items() if n}, _add)

    async def raise_to(self, sim_id: int, values: Mapping[tuple[str, str], int]) -> None:
        """Set each counter to ``max(stored, value)`` in one transaction.

        How live counts are flushed: idempotent (flushing the same numbers twice changes nothing),
        safe for several daemons flushing at once, and a counter never goes down, even when a
        Redis that lost its data reports smaller numbers.
        """
        await self._upsert(sim_id, values, _highest)

    async def _upsert(
        self, sim_id: int, values: Mapping[tuple[str, str], int], merge: Merge
    ) -> None:
        """Insert each counter, or combine it with the stored one by ``merge``, atomically."""
        rows = [
            {"simulation_id": sim_id, "object_type": kind, "metric": metric, "value": n}
            for (kind, metric), n in values.items()
        ]
        if not rows:
            return
        async with self._engine.begin() as conn:
            dialect = conn.dialect.name
            statement: Executable
            if dialect == "mysql":
                my = mysql_insert(counters)
                statement = my.on_duplicate_key_update(
                    value=merge(counters.c.value, my.inserted.value, dialect)
                )
            else:
                lite = sqlite_insert(counters)
                statement = lite.on_conflict_do_update(
                    index_elements=["simulation_id", "object_type", "metric"],
                    set_={"value": merge(counters.c.value, lite.excluded.value, dialect)},
                )
            await conn.execute(statement, rows)

    async def get(self, sim_id: int) -> Counts:
        """Every counter of the simulation; absent counters are simply missing (read them as 0)."""
        query = select(counters.c.object_type, counters.c.metric, counters.c.value).where(
            counters.c.simulation_id == sim_id
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        result: Counts = {}
        for row in rows:
            result.setdefault(row.object_type, {})[row.metric] = int(row.value)
        return result
