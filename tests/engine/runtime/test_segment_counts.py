"""Per-segment progress: each segment's records counted created and settled by the handlers,
beside its expansion state, and taken off ``settled`` by a replay until they run again."""

from __future__ import annotations

import contextlib

from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.crm import ObjectType
from engine.model import SimulationModel
from engine.model.spec import SimulationSpec
from engine.runtime.expander import SegmentState, segment_states
from engine.runtime.keys import SimKeys
from engine.runtime.replay import replay_dead_letters
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from streams import Queue
from tests.engine.runtime.harness import (
    create_simulation,
    runtime_settings,
    simulations,
    start_engine,
    wait_for_status,
)

RECORDS = 40


def counted(states: list[SegmentState]) -> list[tuple[int, int, int, int]]:
    """Per segment with records: (records, queued, created, settled)."""
    return [
        (s.segment.count, s.upto - s.segment.first, s.created, s.settled)
        for s in states
        if s.segment.count
    ]


async def test_segment_counts_follow_dead_letters_and_their_replay(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str, redis: Redis
) -> None:
    """With contacts refused by the CRM every record's job dies: each segment has all its
    records settled and none created. A replay takes them off ``settled``; once they ran again
    every segment has all its records created and settled, none twice."""
    sandbox.reconfigure(denied_types=(ObjectType.CONTACT,))
    row = await create_simulation(runtime_store, total_records=RECORDS)
    settings = runtime_settings(sandbox)
    keys = SimKeys(row.id, DEFAULT_KEY_PREFIX)
    model = SimulationModel(SimulationSpec.from_row(row))
    length = settings.runtime.segment_ms
    running = await start_engine(settings, redis_url, database_file)
    try:
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    dead = counted(await segment_states(redis, keys, model, length))
    assert len(dead) > 1
    assert all((queued, created, settled) == (n, 0, n) for n, queued, created, settled in dead)
    assert sum(n for n, *_ in dead) == RECORDS

    sandbox.reconfigure(denied_types=())
    queue = Queue(redis, settings.queue_config())
    completed = await runtime_store.simulations.get(row.id)
    replayed = 0
    while replayed < RECORDS:  # a replay moves at most DLQ_REPLAY_LIMIT_CAP
        result = await replay_dead_letters(
            redis,
            queue,
            simulations(runtime_store),
            keys,
            completed,
            dry_run=False,
            limit=RECORDS,
            model=model,
            segment_ms=length,
        )
        assert result.replayed > 0
        replayed += result.replayed
    waiting = counted(await segment_states(redis, keys, model, length))
    assert all((created, settled) == (0, 0) for _, _, created, settled in waiting)

    running = await start_engine(settings, redis_url, database_file)
    try:
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 60, redis_url)
    finally:
        with contextlib.suppress(Exception):
            await running.stop()
    done = counted(await segment_states(redis, keys, model, length))
    assert all((queued, created, settled) == (n, n, n) for n, queued, created, settled in done)
