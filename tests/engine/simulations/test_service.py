"""The simulations service on SQLite and MariaDB: creation validates the whole definition and
names the field at fault; every action moves exactly as SPEC §3 allows; a HubSpot simulation
starts only with a token."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from engine.model import SimulationInput
from engine.settings import Settings
from engine.simulations import (
    MOVES,
    Action,
    HubSpotTokens,
    IllegalAction,
    InvalidDefinition,
    MissingToken,
    SimulationNotFound,
    Simulations,
)
from schema.crypto import TokenCipher
from schema.simulations import ALLOWED_FROM, Simulation, SimulationStatus
from schema.store import Store
from schema.users import User
from tests.conftest import Clock
from tests.engine.simulations.conftest import BODY, SECRET

S = SimulationStatus

# A way to reach each status from a new draft.
PATHS: dict[SimulationStatus, tuple[Action, ...]] = {
    S.DRAFT: (),
    S.RUNNING: (Action.START,),
    S.PAUSED: (Action.START, Action.PAUSE),
    S.COMPLETED: (Action.START, Action.COMPLETE),
    S.CANCELLED: (Action.CANCEL,),
    S.FAILED: (Action.FAIL,),
}


def service(store: Store, **tokens: Any) -> Simulations:
    return Simulations(store, HubSpotTokens(store, **tokens))


async def reach(store: Store, sim_id: int, status: SimulationStatus) -> Simulation:
    """Move a new draft to ``status`` through the service; the row as it is then."""
    simulations = service(store)
    for action in PATHS[status]:
        await simulations.act(sim_id, action, reason="test")
    return await store.simulations.get(sim_id)


async def test_create_stores_a_draft_seeded_with_its_id(store: Store, owner: User) -> None:
    """A body as a user sends it, or one validated already, becomes a draft owned by the caller
    whose seed is its id (unless it names one)."""
    simulations = service(store)
    row = await simulations.create(owner.id, BODY)
    assert (row.status, row.owner_id, row.seed) == (S.DRAFT, owner.id, row.id)
    assert row.total_records == 200
    assert row.started_at is None and row.finished_at is None
    seeded = await simulations.create(owner.id, SimulationInput.parse({**BODY, "seed": 7}))
    assert seeded.seed == 7 and seeded.id != row.id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_records": 0}, "total_records"),
        ({"scenario": "nope"}, "scenario"),
        ({"end_time": "2026-01-04T00:00:00Z"}, "end_time"),
        ({"target": "salesforce"}, "target"),
        ({"colour": "red"}, "colour"),
        ({"distribution_params": {"sigma": "wide"}}, "distribution_params.sigma"),
        (
            {"scenario_overrides": {"activities": {"note": {"cap": "x"}}}},
            "scenario_overrides.activities.note.cap",
        ),
        (  # a whole-definition problem: business hours over a weekend-only window
            {
                "start_time": "2026-01-10T00:00:00Z",
                "end_time": "2026-01-11T00:00:00Z",
                "calendar": {"preset": "none", "weekdays": [1, 1, 1, 1, 1, 0, 0]},
            },
            "calendar",
        ),
    ],
)
async def test_an_invalid_definition_names_its_field_and_stores_nothing(
    store: Store, owner: User, change: dict[str, Any], field: str
) -> None:
    """A definition with one bad field is refused with that field's dotted name, and no row is
    written."""
    with pytest.raises(InvalidDefinition) as refused:
        await service(store).create(owner.id, {**BODY, **change})
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert await store.simulations.list() == []


async def test_a_validated_body_still_gets_the_whole_definition_check(
    store: Store, owner: User
) -> None:
    """A body that passed field validation is still checked as a whole before it is stored
    (built without the calendar check, as a caller holding parsed fields may have it)."""
    weekend = {**BODY, "start_time": "2026-01-10T00:00:00Z", "end_time": "2026-01-11T00:00:00Z"}
    fields = SimulationInput.parse(weekend).model_dump()
    fields["calendar"] = {"preset": "none", "weekdays": [1, 1, 1, 1, 1, 0, 0]}
    body = SimulationInput.model_construct(**fields)
    with pytest.raises(InvalidDefinition) as refused:
        await service(store).create(owner.id, body)
    assert refused.value.field == "calendar"
    assert await store.simulations.list() == []


async def test_the_legal_moves_change_status_and_timestamps(
    store: Store, owner: User, clock: Clock
) -> None:
    """start → pause → resume → cancel: each moves the status; started_at is the first start
    (not a resume); a final status stamps finished_at."""
    simulations = service(store)
    sim = await simulations.create(owner.id, BODY)
    started = await simulations.start(sim.id)
    assert started.status is S.RUNNING and started.started_at is not None
    clock.now += timedelta(minutes=5)
    assert (await simulations.pause(sim.id)).status is S.PAUSED
    clock.now += timedelta(minutes=5)
    resumed = await simulations.resume(sim.id)
    assert resumed.status is S.RUNNING and resumed.started_at == started.started_at
    cancelled = await simulations.cancel(sim.id)
    assert cancelled.status is S.CANCELLED and cancelled.finished_at is not None


@pytest.mark.parametrize(
    ("path", "final"),
    [
        ((Action.CANCEL,), S.CANCELLED),
        ((Action.START, Action.CANCEL), S.CANCELLED),
        ((Action.START, Action.PAUSE, Action.CANCEL), S.CANCELLED),
        ((Action.START, Action.COMPLETE), S.COMPLETED),
        ((Action.FAIL,), S.FAILED),
        ((Action.START, Action.FAIL), S.FAILED),
        ((Action.START, Action.PAUSE, Action.FAIL), S.FAILED),
    ],
)
async def test_every_way_to_a_final_status(
    store: Store, owner: User, path: tuple[Action, ...], final: SimulationStatus
) -> None:
    """cancel and fail end a draft, running or paused simulation; complete ends a running one;
    fail keeps its reason on the row."""
    simulations = service(store)
    sim = await simulations.create(owner.id, BODY)
    row = sim
    for action in path:
        if action is Action.FAIL:
            row = await simulations.fail(sim.id, "the CRM refused the token")
        else:
            row = await simulations.act(sim.id, action)
    assert row.status is final and row.finished_at is not None
    if final is S.FAILED:
        assert row.status_reason == "the CRM refused the token"
    assert (await store.simulations.get(sim.id)).status is final


@pytest.mark.parametrize("status", list(PATHS))
async def test_every_illegal_action_is_refused_and_changes_nothing(
    store: Store, owner: User, clock: Clock, status: SimulationStatus
) -> None:
    """From each status, every action it does not allow raises IllegalAction naming the current
    status and the statuses the action needs; the row is left exactly as it was."""
    simulations = service(store)
    sim = await simulations.create(owner.id, BODY)
    before = await reach(store, sim.id, status)
    clock.now += timedelta(minutes=1)
    refused = [action for action in Action if status not in MOVES[action].sources]
    assert refused, "every status refuses some action"
    for action in refused:
        with pytest.raises(IllegalAction) as error:
            await simulations.act(sim.id, action, reason="nope")
        assert error.value.status is status and error.value.action == action.value
        sources = ", ".join(sorted(s.value for s in MOVES[action].sources))
        assert str(error.value) == (
            f"simulation {sim.id} is {status.value}: only a {sources} one can {action.value}"
        )
        assert await store.simulations.get(sim.id) == before


async def test_racing_actions_move_a_simulation_once(store: Store, owner: User) -> None:
    """Ten concurrent pauses of one running simulation: one wins, the others are IllegalAction
    reporting it paused."""
    simulations = service(store)
    sim = await simulations.create(owner.id, BODY)
    await simulations.start(sim.id)
    results = await asyncio.gather(
        *(simulations.pause(sim.id) for _ in range(10)), return_exceptions=True
    )
    moved = [r for r in results if isinstance(r, Simulation)]
    refused = [r for r in results if isinstance(r, IllegalAction)]
    assert len(moved) == 1 and len(refused) == 9
    assert all(error.status is S.PAUSED for error in refused)


async def test_an_action_on_a_missing_simulation_is_not_found(store: Store) -> None:
    """Every action on an id that does not exist raises SimulationNotFound naming the id."""
    simulations = service(store)
    for action in Action:
        with pytest.raises(SimulationNotFound, match="simulation 999999 does not exist"):
            await simulations.act(999_999, action)


async def test_a_hubspot_simulation_starts_only_with_a_token(store: Store, owner: User) -> None:
    """Without a stored token and without HUBSPOT_API_TOKEN, starting a `hubspot` simulation
    raises MissingToken and it stays a draft; once the owner stores a token it starts. A
    `sandbox` simulation needs none."""
    simulations = service(store)
    sim = await simulations.create(owner.id, {**BODY, "target": "hubspot"})
    with pytest.raises(MissingToken) as refused:
        await simulations.start(sim.id)
    assert refused.value.simulation is not None and refused.value.simulation.id == sim.id
    assert (await store.simulations.get(sim.id)).status is S.DRAFT
    keys = Settings.from_env(TOKEN_ENC_SECRET=SecretStr(SECRET)).security.token_keys()
    await store.credentials.put(owner.id, "pat-na1-0000-1111", TokenCipher(keys), portal_id=4242)
    assert (await simulations.start(sim.id)).status is S.RUNNING
    sandbox = await simulations.create(owner.id, {**BODY, "target": "sandbox"})
    other, _ = await store.users.create("tokenless@example.com")
    tokenless = await simulations.create(other.id, {**BODY, "target": "sandbox"})
    assert (await simulations.start(sandbox.id)).status is S.RUNNING
    assert (await simulations.start(tokenless.id)).status is S.RUNNING


async def test_the_global_token_lets_any_hubspot_simulation_start(
    store: Store, owner: User
) -> None:
    """With HUBSPOT_API_TOKEN set, a `hubspot` simulation whose owner stored no token starts."""
    simulations = service(store, legacy=SecretStr("pat-na1-legacy-token"))
    sim = await simulations.create(owner.id, {**BODY, "target": "hubspot"})
    assert (await simulations.start(sim.id)).status is S.RUNNING


async def test_a_refused_start_is_checked_before_the_token(store: Store, owner: User) -> None:
    """Starting a running `hubspot` simulation is an illegal action, not a missing token."""
    simulations = service(store, legacy=SecretStr("pat-na1-legacy-token"))
    sim = await simulations.create(owner.id, {**BODY, "target": "hubspot"})
    await simulations.start(sim.id)
    tokenless = service(store)
    with pytest.raises(IllegalAction):
        await tokenless.start(sim.id)


def test_each_action_is_a_move_the_store_allows() -> None:
    """Every action's sources are statuses the store lets lead to its target, so no action the
    service allows can be refused by the store except by a concurrent change."""
    for action, move in MOVES.items():
        assert move.sources <= ALLOWED_FROM[move.target], action
