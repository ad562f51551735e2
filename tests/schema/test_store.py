"""The store contract, run on SQLite and on MariaDB alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from engine.settings import key_id
from schema import migrate
from schema.crypto import TokenCipher, hash_api_key
from schema.errors import (
    DuplicateEmail,
    IllegalTransition,
    NotFound,
    SchemaOutOfDate,
    TokenDecryptError,
)
from schema.simulations import ALLOWED_FROM, NewSimulation, SimulationStatus
from schema.store import Store
from schema.tables import metadata, users
from schema.users import Role
from tests.conftest import Clock

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
S = SimulationStatus


def new_sim(owner_id: int, **changes: object) -> NewSimulation:
    values: dict[str, object] = {
        "owner_id": owner_id,
        "name": "spring push",
        "scenario": "b2b_saas",
        "distribution_method": "bell",
        "start_time": datetime(2026, 3, 1, tzinfo=UTC),
        "end_time": datetime(2026, 3, 8, 12, 30, 15, 250000, tzinfo=UTC),
        "total_records": 10_000_000,
        "scenario_overrides": {"note": {"probability": 0.5}},
        "timezone": "Europe/Berlin",
    }
    values.update(changes)
    return NewSimulation(**values)  # type: ignore[arg-type]


# -- migrations -----------------------------------------------------------------------------


async def test_migrations_from_empty_match_the_tables(database_url: str) -> None:
    """`upgrade head` on an empty database builds exactly schema/tables.py; downgrade empties it."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    async with Store.open(database_url, require_schema=False) as store:
        assert await migrate.current_revision(store.engine) is None
        with pytest.raises(SchemaOutOfDate, match="simcrm migrate"):
            await store.check_schema()
        before, after = await store.migrate()
        assert (before, after) == (None, migrate.head_revision())
        await store.check_schema()

        def differences(connection: object) -> list[object]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
            return list(compare_metadata(context, metadata))

        async with store.engine.connect() as conn:
            assert await conn.run_sync(differences) == []
        assert await store.migrate() == (after, after)

        await migrate.downgrade(store.engine, "base")
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await store.migrate()
        await store.check_schema()


async def test_open_refuses_unmigrated_database(database_url: str) -> None:
    """Opening a store on a database that was never migrated says to run `simcrm migrate`."""
    with pytest.raises(SchemaOutOfDate, match="run `simcrm migrate`"):
        async with Store.open(database_url):
            pass


# -- users -----------------------------------------------------------------------------------


async def test_user_key_is_stored_only_as_hash(store: Store) -> None:
    """Creating a user returns a key; the table holds its hash and never the key."""
    user, api_key = await store.users.create("Ada@Example.com", Role.BOSS)
    assert user.email == "ada@example.com"
    assert user.is_boss
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(users))).one()
    assert row.api_key_hash == hash_api_key(api_key)
    assert api_key not in tuple(str(v) for v in row)
    assert await store.users.by_api_key(api_key) == user
    assert await store.users.by_api_key(api_key + "x") is None
    assert await store.users.get(user.id) == user
    assert await store.users.by_email("ADA@example.com") == user


async def test_duplicate_email_is_refused(store: Store) -> None:
    """Emails are unique regardless of case; the first user is untouched."""
    first, key = await store.users.create("a@b.c")
    with pytest.raises(DuplicateEmail):
        await store.users.create("A@B.C", Role.BOSS)
    assert await store.users.list() == [first]
    assert await store.users.by_api_key(key) == first


# -- credentials ---------------------------------------------------------------------------------


async def test_token_round_trip_replace_and_delete(store: Store, clock: Clock) -> None:
    """A stored token decrypts, shows only its last four, and can be replaced and removed."""
    user, _ = await store.users.create("t@b.c")
    cipher = TokenCipher({key_id(KEY_A): KEY_A})
    assert await store.credentials.token(user.id, cipher) is None
    info = await store.credentials.put(user.id, "pat-na1-0000-1234", cipher, portal_id=42)
    assert (info.last4, info.portal_id) == ("1234", 42)
    assert await store.credentials.token(user.id, cipher) == "pat-na1-0000-1234"
    clock.now += timedelta(minutes=5)
    await store.credentials.put(user.id, "pat-na1-9999-5678", cipher)
    shown = await store.credentials.info(user.id)
    assert shown is not None
    assert shown.last4 == "5678"
    assert shown.updated_at == clock.now
    assert await store.credentials.token(user.id, cipher) == "pat-na1-9999-5678"
    assert await store.credentials.delete(user.id) is True
    assert await store.credentials.delete(user.id) is False
    assert await store.credentials.info(user.id) is None


async def test_token_needs_the_right_key_and_rotates(store: Store) -> None:
    """Without its key a token is refused loudly; re-encryption moves rows to the new key."""
    user, _ = await store.users.create("r@b.c")
    await store.credentials.put(user.id, "pat-secret", TokenCipher({key_id(KEY_A): KEY_A}))
    with pytest.raises(TokenDecryptError):
        await store.credentials.token(user.id, TokenCipher({key_id(KEY_B): KEY_B}))
    rotated = TokenCipher({key_id(KEY_B): KEY_B, key_id(KEY_A): KEY_A})
    assert await store.credentials.reencrypt(rotated) == 1
    assert await store.credentials.reencrypt(rotated) == 0
    only_new = TokenCipher({key_id(KEY_B): KEY_B})
    assert await store.credentials.token(user.id, only_new) == "pat-secret"


# -- simulations -------------------------------------------------------------------------------


async def test_simulation_round_trip(store: Store, clock: Clock) -> None:
    """Every field survives the database, times as aware UTC to the microsecond."""
    owner, _ = await store.users.create("o@b.c")
    created = await store.simulations.create(new_sim(owner.id, seed=7, time_scale=60.0))
    again = await store.simulations.get(created.id)
    assert again == created
    assert again.status is S.DRAFT
    assert again.end_time == datetime(2026, 3, 8, 12, 30, 15, 250000, tzinfo=UTC)
    assert again.scenario_overrides == {"note": {"probability": 0.5}}
    assert (again.seed, again.time_scale, again.total_records) == (7, 60.0, 10_000_000)
    assert again.created_at == clock.now


async def test_seed_defaults_to_the_id(store: Store) -> None:
    """A simulation created without a seed gets its own id as seed."""
    owner, _ = await store.users.create("s@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    assert sim.seed == sim.id


async def test_list_by_owner_newest_first(store: Store) -> None:
    """Listing by owner shows only that owner's simulations; no owner lists everyone's."""
    alice, _ = await store.users.create("alice@b.c")
    bob, _ = await store.users.create("bob@b.c")
    a1 = await store.simulations.create(new_sim(alice.id))
    b1 = await store.simulations.create(new_sim(bob.id))
    a2 = await store.simulations.create(new_sim(alice.id))
    assert [s.id for s in await store.simulations.list(owner_id=alice.id)] == [a2.id, a1.id]
    assert [s.id for s in await store.simulations.list()] == [a2.id, b1.id, a1.id]
    page = await store.simulations.list(owner_id=alice.id, before_id=a2.id)
    assert [s.id for s in page] == [a1.id]
    with pytest.raises(NotFound):
        await store.simulations.get(a2.id + 100)


async def test_lifecycle_follows_the_spec(store: Store, clock: Clock) -> None:
    """draft → running ⇄ paused → cancelled works and stamps started/finished times."""
    owner, _ = await store.users.create("l@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    started = clock.now = clock.now + timedelta(minutes=1)
    sim = await store.simulations.transition(sim.id, S.RUNNING)
    assert sim.status is S.RUNNING
    assert sim.started_at == started
    clock.now += timedelta(minutes=1)
    assert (await store.simulations.transition(sim.id, S.PAUSED)).status is S.PAUSED
    clock.now += timedelta(minutes=1)
    resumed = await store.simulations.transition(sim.id, S.RUNNING)
    assert resumed.started_at == started
    done = await store.simulations.transition(sim.id, S.CANCELLED, reason="user asked")
    assert done.finished_at == clock.now
    assert done.status_reason == "user asked"
    assert len(await store.simulations.list(statuses=frozenset({S.CANCELLED}))) == 1


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), S.PAUSED),
        ((), S.COMPLETED),
        ((S.RUNNING, S.PAUSED), S.COMPLETED),
        ((S.RUNNING, S.COMPLETED), S.PAUSED),
        ((S.CANCELLED,), S.RUNNING),
        ((S.RUNNING, S.FAILED), S.CANCELLED),
    ],
)
async def test_illegal_transitions_are_refused(
    store: Store, path: tuple[SimulationStatus, ...], target: SimulationStatus
) -> None:
    """A move SPEC §3 does not allow raises IllegalTransition and changes nothing."""
    owner, _ = await store.users.create("i@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    for step in path:
        sim = await store.simulations.transition(sim.id, step)
    with pytest.raises(IllegalTransition) as caught:
        await store.simulations.transition(sim.id, target)
    assert caught.value.current == sim.status
    assert await store.simulations.get(sim.id) == sim


def test_every_final_status_is_a_dead_end() -> None:
    """No transition leaves cancelled or failed; completed leads only back to running (replayed
    dead letters are work again)."""
    for target, sources in ALLOWED_FROM.items():
        finals = {source for source in sources if source.is_final}
        assert finals <= ({S.COMPLETED} if target is S.RUNNING else set()), target


async def test_a_completed_simulation_reopens_unfinished(store: Store) -> None:
    """completed → running keeps the first start and clears the finish time; completing again
    sets a new one."""
    owner, _ = await store.users.create("reopen@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    started = (await store.simulations.transition(sim.id, S.RUNNING)).started_at
    assert (await store.simulations.transition(sim.id, S.COMPLETED)).finished_at is not None
    reopened = await store.simulations.transition(sim.id, S.RUNNING)
    assert reopened.status is S.RUNNING
    assert reopened.finished_at is None and reopened.started_at == started
    assert (await store.simulations.transition(sim.id, S.COMPLETED)).finished_at is not None


async def test_only_one_racer_wins_a_transition(store: Store) -> None:
    """Ten concurrent pauses of one running simulation: exactly one succeeds."""
    owner, _ = await store.users.create("race@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    await store.simulations.transition(sim.id, S.RUNNING)
    results = await asyncio.gather(
        *(store.simulations.transition(sim.id, S.PAUSED) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, IllegalTransition) for r in results if isinstance(r, BaseException))


async def test_a_transition_can_be_narrowed_to_fewer_sources(store: Store) -> None:
    """``only_from`` narrows the statuses a move is taken from in the same UPDATE: a paused
    simulation is not moved to running by a move allowed only from draft (a start), but is by
    one allowed from paused (a resume)."""
    owner, _ = await store.users.create("narrow@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    await store.simulations.transition(sim.id, S.RUNNING)
    paused = await store.simulations.transition(sim.id, S.PAUSED)
    with pytest.raises(IllegalTransition):
        await store.simulations.transition(sim.id, S.RUNNING, only_from=frozenset({S.DRAFT}))
    assert await store.simulations.get(sim.id) == paused
    resumed = await store.simulations.transition(sim.id, S.RUNNING, only_from=frozenset({S.PAUSED}))
    assert resumed.status is S.RUNNING


async def test_transition_of_missing_simulation(store: Store) -> None:
    """Moving a simulation that does not exist is NotFound, not an illegal move."""
    with pytest.raises(NotFound):
        await store.simulations.transition(999_999, S.RUNNING)


# -- counters ------------------------------------------------------------------------------------


async def test_counter_increments_are_atomic(store: Store) -> None:
    """Many concurrent increments add up exactly, per type and metric."""
    owner, _ = await store.users.create("c@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    await asyncio.gather(
        *(
            store.counters.increment(sim.id, {("contact", "created"): 3, ("note", "failed"): 1})
            for _ in range(20)
        )
    )
    await store.counters.increment(sim.id, {("contact", "created"): 0, ("call", "thinned"): 2})
    assert await store.counters.get(sim.id) == {
        "contact": {"created": 60},
        "note": {"failed": 20},
        "call": {"thinned": 2},
    }


async def test_counters_keep_the_longest_job_type(store: Store) -> None:
    """A run's counters include ``deal_stage_update`` (17 characters), which MariaDB refused in a
    16-character column: every flush of such a run failed there."""
    owner, _ = await store.users.create("long@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    await store.counters.raise_to(sim.id, {("deal_stage_update", "rate_limited"): 4})
    assert await store.counters.get(sim.id) == {"deal_stage_update": {"rate_limited": 4}}


async def test_counters_raise_to_never_lower(store: Store) -> None:
    """Flushing live counts raises counters to them, never lowers one, and repeats harmlessly."""
    owner, _ = await store.users.create("flush@b.c")
    sim = await store.simulations.create(new_sim(owner.id))
    await store.counters.raise_to(sim.id, {("contact", "created"): 10, ("note", "dead"): 2})
    await store.counters.raise_to(sim.id, {("contact", "created"): 10, ("note", "dead"): 2})
    await store.counters.raise_to(sim.id, {("contact", "created"): 7, ("call", "created"): 1})
    assert await store.counters.get(sim.id) == {
        "contact": {"created": 10},
        "note": {"dead": 2},
        "call": {"created": 1},
    }
