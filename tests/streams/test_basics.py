"""Sharding, key names, the job wire format, outcomes, options and the script loader."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from core.errors import ScriptError
from core.lua import Scripts, lua_folder, read_scripts
from streams.config import QueueConfig
from streams.errors import ConfigError, PayloadError
from streams.job import Job, Priority, decode_job
from streams.keys import QueueKeys
from streams.outcomes import Defer, Retry
from streams.sharding import fnv1a_32, shard_for


def test_fnv1a_matches_reference_vectors() -> None:
    """fnv1a_32 is the standard 32-bit FNV-1a (published test vectors), stable across runs."""
    assert fnv1a_32("") == 0x811C9DC5
    assert fnv1a_32("a") == 0xE40C292C
    assert fnv1a_32("foobar") == 0xBF9CF968


def test_shard_for_spreads_scopes_and_stays_in_range() -> None:
    """Every scope maps into 0..shards-1 and many scopes use every shard."""
    seen = {shard_for(f"sim-{i}", 8) for i in range(200)}
    assert seen == set(range(8))
    assert shard_for("sim-1", 1) == 0


def test_keys_carry_the_shard_tag_including_per_scope_keys() -> None:
    """Each key of a shard holds exactly the tag {q<k>}; a scope's dead-letter keys carry its
    shard's tag."""
    keys = QueueKeys(shards=4, prefix="p")
    scope = "sim-42"
    tag = f"{{q{keys.shard_of(scope)}}}"
    assert keys.dead_counts(scope).startswith(f"p:{tag}:")
    assert keys.dead_samples(scope).startswith(f"p:{tag}:")
    assert keys.ready(2, Priority.SECONDARY) == "p:{q2}:ready:secondary"
    with pytest.raises(ConfigError, match="shard"):
        keys.delayed(4)
    with pytest.raises(ConfigError, match="prefix"):
        QueueKeys(shards=1, prefix="a{b}")


def test_job_round_trips_through_its_wire_form() -> None:
    """decode_job(encode(job)) == job, for every field including priority and attempts."""
    job = Job("id-1", "note", "sim-1", {"record": 7, "owner": "u1"}, Priority.SECONDARY, 2, 1)
    assert decode_job(job.encode()) == job
    plain = Job("id-2", "contact", "sim-1")
    assert decode_job(plain.encode()) == plain
    assert plain.next_attempt().attempt == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"id": ""}, "id"),
        ({"type": 3}, "type"),
        ({"scope": "x" * 201}, "scope"),
        ({"attempt": 0}, "attempt"),
        ({"max_attempts": 11}, "max_attempts"),
    ],
)
def test_bad_job_fields_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    """A job with a bad field raises PayloadError whose message names that field."""
    values: dict[str, object] = {"id": "i", "type": "t", "scope": "s", **kwargs}
    with pytest.raises(PayloadError, match=field):
        Job(**values)  # type: ignore[arg-type]


def test_undecodable_payloads_raise_payload_error() -> None:
    """Garbage, wrong shapes and unknown classes are PayloadError, never a crash."""
    for raw in (b"not json", b"[1,2]", b'["i","t","s",{},1,0,"x"]'):
        with pytest.raises(PayloadError):
            decode_job(raw)
    with pytest.raises(PayloadError, match="data"):
        Job("i", "t", "s", {"x": object()}).encode()  # type: ignore[dict-item]


def test_outcomes_and_options_refuse_negative_or_inconsistent_values() -> None:
    """Negative waits and a heartbeat slower than a third of the visibility timeout are refused."""
    with pytest.raises(ValueError, match="after_ms"):
        Retry(after_ms=-1)
    with pytest.raises(ValueError, match="after_ms"):
        Defer(after_ms=-5)
    with pytest.raises(ConfigError, match="heartbeat_ms"):
        QueueConfig(visibility_ms=1_000, heartbeat_ms=500)
    with pytest.raises(ConfigError, match="read_count"):
        QueueConfig(read_count=0)
    with pytest.raises(ConfigError, match="replay_limit_cap"):
        QueueConfig(replay_limit_cap=101)


def test_every_script_has_a_header_and_a_key_count() -> None:
    """Each .lua file declares purpose, KEYS, ARGV and Returns; calling with the wrong number of
    keys is refused before reaching Redis."""
    scripts = read_scripts(lua_folder("streams"))
    assert set(scripts) == {
        "enqueue", "promote", "read", "heartbeat", "release", "reclaim", "settle", "replay",
        "purge", "withdraw", "deposit",
    }  # fmt: skip
    assert (scripts["settle"].fixed_keys, scripts["settle"].variadic) == (5, True)
    assert (scripts["promote"].fixed_keys, scripts["promote"].variadic) == (3, False)
    with pytest.raises(ScriptError, match="promote"):
        scripts["promote"].check_keys(2)
    with pytest.raises(ScriptError, match="promote"):
        scripts["promote"].check_keys(4)
    with pytest.raises(ScriptError, match="settle"):
        scripts["settle"].check_keys(3)
    scripts["settle"].check_keys(9)


async def test_scripts_load_and_survive_a_script_flush(redis: Redis) -> None:
    """Scripts load at boot; after SCRIPT FLUSH a call still works (EVAL fallback), alone or
    pipelined."""
    scripts = Scripts(redis, lua_folder("streams"))
    await scripts.load()
    keys = QueueKeys(shards=1, prefix="flush")
    call = ("promote", [keys.delayed(0), *keys.streams(0)], [0, 10])
    await redis.script_flush()
    assert await scripts.run(*call) == [0, -1]
    await redis.script_flush()
    assert await scripts.run_many([call, call]) == [[0, -1], [0, -1]]
