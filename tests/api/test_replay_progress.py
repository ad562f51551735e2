"""A replay through the API shows in the simulation's metrics and status at once."""

from __future__ import annotations

from redis.asyncio import Redis

from core.keys import DEFAULT_KEY_PREFIX
from engine.runtime.keys import SimKeys
from schema.simulations import SimulationStatus
from tests.api.conftest import Api
from tests.api.test_deadletters import dead_letter


async def test_replay_counts_and_reopens_a_completed_run(api: Api, redis: Redis) -> None:
    """A completed simulation with 4 dead notes: a dry run changes nothing; a real replay counts
    them ``replayed``, takes them off ``dead`` and ``settled`` (so ``settled`` stays within
    ``scheduled``), and the simulation is running again."""
    sim = await api.create("member")
    metrics_key = SimKeys(sim["id"], DEFAULT_KEY_PREFIX).metrics
    await dead_letter(redis, api.settings, sim["id"], 4)
    await redis.hset(
        metrics_key,
        mapping={"note:scheduled": 4, "note:dead": 4, "all:scheduled": 4, "all:settled": 4},
    )
    await api.store.simulations.transition(sim["id"], SimulationStatus.RUNNING)
    await api.store.simulations.transition(sim["id"], SimulationStatus.COMPLETED)
    path = f"/api/simulations/{sim['id']}"

    status, body = await api.call("boss", "POST", f"{path}/dlq/replay", {"dryRun": True})
    assert status == 200 and body["replayed"] == 0, body
    before = (await api.call("member", "GET", f"{path}/metrics"))[1]
    assert before["status"] == "completed" and before["totals"]["dead"] == 4

    status, body = await api.call("boss", "POST", f"{path}/dlq/replay", {"dryRun": False})
    assert status == 200 and body["replayed"] == 4, body
    after = (await api.call("member", "GET", f"{path}/metrics"))[1]
    assert after["status"] == "running" and after["totals"]["replayed"] == 4
    assert after["totals"]["dead"] == 0 and after["counts"]["note"]["dead"] == 0
    assert after["totals"]["settled"] == 0 <= after["totals"]["scheduled"]
    row = await api.store.simulations.get(sim["id"])
    assert row.status is SimulationStatus.RUNNING and row.finished_at is None
