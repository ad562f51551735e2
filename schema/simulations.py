"""Simulation rows: their definition, their status and its legal transitions.

Status moves only along SPEC §3::

    draft ──► running ⇄ paused
      │          │        │
      │          ├────────┼──► completed   (running only)
      └──────────┴────────┴──► cancelled | failed

``completed``, ``cancelled`` and ``failed`` are final. A transition is one conditional UPDATE, so
two processes racing to move the same simulation cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.errors import IllegalTransition, NotFound
from schema.tables import simulations as sims


class SimulationStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {SimulationStatus.COMPLETED, SimulationStatus.CANCELLED, SimulationStatus.FAILED}
)

ALLOWED_FROM: Mapping[SimulationStatus, frozenset[SimulationStatus]] = {
    SimulationStatus.DRAFT: frozenset(),
    SimulationStatus.RUNNING: frozenset(
        {SimulationStatus.DRAFT, SimulationStatus.PAUSED, SimulationStatus.COMPLETED}
    ),
    SimulationStatus.PAUSED: frozenset({SimulationStatus.RUNNING}),
    SimulationStatus.COMPLETED: frozenset({SimulationStatus.RUNNING}),
    SimulationStatus.CANCELLED: frozenset(
        {SimulationStatus.DRAFT, SimulationStatus.RUNNING, SimulationStatus.PAUSED}
    ),
    SimulationStatus.FAILED: frozenset(
        {SimulationStatus.DRAFT, SimulationStatus.RUNNING, SimulationStatus.PAUSED}
    ),
}
"""For each target status, the statuses a simulation may move to it from."""


@dataclass(frozen=True, slots=True)
class NewSimulation:
    """A simulation's definition as the store keeps it; validated before it gets here."""

    owner_id: int
    name: str
    scenario: str
    distribution_method: str
    start_time: datetime
    end_time: datetime
    total_records: int
    scenario_overrides: Mapping[str, Any] = field(default_factory=dict)
    distribution_params: Mapping[str, Any] = field(default_factory=dict)
    calendar: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    seed: int | None = None
    time_scale: float = 1.0
    backfill: bool = False
    target: str = "sandbox"


@dataclass(frozen=True, slots=True)
class Simulation:
    id: int
    owner_id: int
    name: str
    scenario: str
    scenario_overrides: Mapping[str, Any]
    distribution_method: str
    distribution_params: Mapping[str, Any]
    calendar: Mapping[str, Any]
    timezone: str
    start_time: datetime
    end_time: datetime
    total_records: int
    seed: int
    time_scale: float
    backfill: bool
    target: str
    status: SimulationStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _simulation(row: Any) -> Simulation:
    values = row._asdict()
    values["status"] = SimulationStatus(values["status"])
    values["backfill"] = bool(values["backfill"])
    return Simulation(**values)


class SimulationsRepo:
    """Create, read and list simulations, and move them between statuses."""

    def __init__(self, engine: AsyncEngine, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now

    async def create(self, new: NewSimulation) -> Simulation:
        """Insert a draft; its seed defaults to its id so every run of it is reproducible."""
        now = self._now()
        values = {
            "owner_id": new.owner_id,
            "name": new.name,
            "scenario": new.scenario,
            "scenario_overrides": dict(new.scenario_overrides),
            "distribution_method": new.distribution_method,
            "distribution_params": dict(new.distribution_params),
            "calendar": dict(new.calendar),
            "timezone": new.timezone,
            "start_time": new.start_time,
            "end_time": new.end_time,
            "total_records": new.total_records,
            "seed": new.seed if new.seed is not None else 0,
            "time_scale": new.time_scale,
            "backfill": new.backfill,
            "target": new.target,
            "status": SimulationStatus.DRAFT.value,
            "created_at": now,
            "updated_at": now,
        }
        async with self._engine.begin() as conn:
            result = await conn.execute(insert(sims).values(**values))
            key = result.inserted_primary_key
            if not key or key[0] is None:
                raise RuntimeError("the database returned no id for the new simulation")
            sim_id = int(key[0])
            if new.seed is None:
                await conn.execute(update(sims).where(sims.c.id == sim_id).values(seed=sim_id))
            row = (await conn.execute(select(sims).where(sims.c.id == sim_id))).one()
        return _simulation(row)

    async def get(self, sim_id: int) -> Simulation:
        """The simulation with this id.

        Raises:
            NotFound: there is none.
        """
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(sims).where(sims.c.id == sim_id))).first()
        if row is None:
            raise NotFound(f"simulation {sim_id} does not exist")
        return _simulation(row)

    async def list(
        self,
        *,
        owner_id: int | None = None,
        statuses: frozenset[SimulationStatus] | None = None,
        limit: int = 100,
        before_id: int | None = None,
        finished_since: datetime | None = None,
    ) -> list[Simulation]:
        """Newest first; ``owner_id`` None lists everyone's (for a boss or the engine);
        ``finished_since`` keeps those that ended at or after that moment."""
        query = select(sims).order_by(sims.c.id.desc()).limit(limit)
        if owner_id is not None:
            query = query.where(sims.c.owner_id == owner_id)
        if statuses is not None:
            query = query.where(sims.c.status.in_([s.value for s in statuses]))
        if before_id is not None:
            query = query.where(sims.c.id < before_id)
        if finished_since is not None:
            query = query.where(sims.c.finished_at >= finished_since)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_simulation(row) for row in rows]

    async def transition(
        self,
        sim_id: int,
        target: SimulationStatus,
        *,
        reason: str | None = None,
        only_from: frozenset[SimulationStatus] | None = None,
    ) -> Simulation:
        """Move the simulation to ``target`` if its current status allows it (and is one of
        ``only_from``, when given: an action's narrower sources, checked in the same UPDATE).

        Raises:
            NotFound: there is no such simulation.
            IllegalTransition: its current status does not lead to ``target``.
        """
        now = self._now()
        values: dict[str, Any] = {"status": target.value, "updated_at": now}
        if reason is not None:
            values["status_reason"] = reason
        if target is SimulationStatus.RUNNING:
            values["started_at"] = now
            values["finished_at"] = None  # a completed run reopened by a replay is not finished
        if target.is_final:
            values["finished_at"] = now
        sources = ALLOWED_FROM[target] if only_from is None else ALLOWED_FROM[target] & only_from
        allowed = [status.value for status in sources]
        async with self._engine.begin() as conn:
            if target is SimulationStatus.RUNNING:
                # started_at records the first start only, not every resume.
                current = (
                    await conn.execute(select(sims.c.started_at).where(sims.c.id == sim_id))
                ).first()
                if current is not None and current.started_at is not None:
                    del values["started_at"]
            result = await conn.execute(
                update(sims).where(sims.c.id == sim_id, sims.c.status.in_(allowed)).values(**values)
            )
            row = (await conn.execute(select(sims).where(sims.c.id == sim_id))).first()
        if row is None:
            raise NotFound(f"simulation {sim_id} does not exist")
        if result.rowcount == 0:
            raise IllegalTransition(sim_id, row.status, target.value)
        return _simulation(row)
