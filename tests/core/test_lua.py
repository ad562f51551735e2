"""The one Lua loader: the naming and header convention is enforced when scripts are read, a
script Redis refuses stops loading, calls survive a flushed script cache, and every package's
scripts follow the convention and load, on standalone Redis and on a Cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from core.errors import ScriptError
from core.lua import KeyList, Scripts, lua_folder, parse_script, read_scripts

PACKAGES = ("streams", "limits", "engine.runtime", "api")

BUMP = """\
-- bump: add to a counter and answer its new value.
--
-- The counter is created at zero when missing.
--
-- KEYS[1]  the counter
-- ARGV[1]  how much to add
-- Returns  the counter's new value
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""

TOTAL = """\
-- total: store the sum of any number of counters.
--
-- KEYS[1]  where the sum goes
-- KEYS[2..] the counters to add up
-- ARGV[1]  what to add on top
-- Returns  the sum, also stored in KEYS[1]
local sum = tonumber(ARGV[1])
for i = 2, #KEYS do
  sum = sum + tonumber(redis.call('GET', KEYS[i]) or 0)
end
redis.call('SET', KEYS[1], sum)
return sum
"""

FAIL = """\
-- fail: refuse, as a script does when its input is wrong.
--
-- KEYS[1]  any key
-- ARGV[1]  the error text
-- Returns  an error reply, always
return redis.error_reply(ARGV[1])
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_every_package_script_follows_the_convention() -> None:
    """Each package's lua/ folder reads without complaint: names, first lines, KEYS matching
    the file name, ARGV and Returns lines all in place."""
    for package in PACKAGES:
        scripts = read_scripts(lua_folder(package))
        assert scripts, package
        for name, script in scripts.items():
            assert script.source.startswith(f"-- {name}: "), script.file


async def test_every_package_script_loads(lua_redis: Redis | RedisCluster) -> None:
    """Redis accepts every script of every package (no syntax error anywhere), on every
    primary of a Cluster."""
    for package in PACKAGES:
        await Scripts(lua_redis, lua_folder(package)).load()


def test_a_well_formed_script_is_read_with_its_key_counts() -> None:
    """The file name gives the keys: fixed, or fixed and then any number more (+n)."""
    bump = parse_script("bump-1.lua", BUMP)
    total = parse_script("total-1+n.lua", TOTAL)
    assert (bump.name, bump.fixed_keys, bump.variadic) == ("bump", 1, False)
    assert (total.name, total.fixed_keys, total.variadic) == ("total", 1, True)
    bump.check_keys(1)
    total.check_keys(5)
    with pytest.raises(ScriptError, match=r"bump-1\.lua: called with 2 keys"):
        bump.check_keys(2)
    with pytest.raises(ScriptError, match=r"total-1\+n\.lua: called with 0 keys"):
        total.check_keys(0)


@pytest.mark.parametrize(
    "file", ["bump.lua", "Bump-1.lua", "bump-one.lua", "bump-1+m.lua", "bump-1.txt.lua"]
)
def test_a_misnamed_file_is_refused(file: str) -> None:
    """A file not named <name>-<keys>.lua or <name>-<fixed>+n.lua is refused by name."""
    with pytest.raises(ScriptError, match=r"is named <name>-<keys>\.lua"):
        parse_script(file, BUMP)


@pytest.mark.parametrize(
    ("file", "source", "complaint"),
    [
        ("other-1.lua", BUMP, r"first line must be '-- other: <purpose>'"),
        ("bump-1.lua", BUMP.replace("-- bump: add", "-- bump:add"), "first line"),
        ("bump-1.lua", BUMP.split("\n", 1)[1], "first line"),
        ("bump-2.lua", BUMP, r"KEYS\[1\]..KEYS\[2\], one per line"),
        ("bump-1+n.lua", BUMP, r"KEYS\[1\]..KEYS\[1\] and KEYS\[2..\]"),
        ("total-1.lua", TOTAL, r"KEYS\[1\]..KEYS\[1\], one per line"),
        (
            "bump-2.lua",
            BUMP.replace("-- KEYS[1]  the counter", "-- KEYS[1]  the counter   KEYS[2] more"),
            r"KEYS\[1\]..KEYS\[2\]",
        ),
        (
            "bump-1.lua",
            BUMP.replace("-- ARGV[1]  how much to add", "-- ARGV[2]  how much to add"),
            r"ARGV lines must be numbered 1, 2, … \(found \[2\]\)",
        ),
        (
            "bump-1.lua",
            BUMP.replace(
                "-- KEYS[1]  the counter\n-- ARGV[1]  how much to add",
                "-- ARGV[1]  how much to add\n-- KEYS[1]  the counter",
            ),
            "a KEYS line follows the ARGV lines",
        ),
        ("bump-1.lua", BUMP.replace("-- Returns  the counter's new value\n", ""), "Returns"),
        (
            "bump-1.lua",
            BUMP.replace("-- Returns", "-- Returns  twice\n-- Returns"),
            "two Returns lines",
        ),
        (
            "bump-1.lua",
            BUMP.replace("-- ARGV[1]  how much to add", "-- ARGV[1]  how much\n-- to add"),
            "indented continuations",
        ),
        (
            "bump-1.lua",
            BUMP.replace("ARGV[1])", "ARGV[1] + ARGV[2])"),
            r"uses ARGV\[2\], the header stops at 1",
        ),
        (
            "bump-1.lua",
            BUMP.replace("KEYS[1], ARGV[1])", "KEYS[2], ARGV[1])"),
            r"uses KEYS\[2\], the header stops at 1",
        ),
        (
            "total-1+n.lua",
            TOTAL.replace("-- ARGV[1]  what", "-- ARGV[1..] what\n-- ARGV[2]  what"),
            "only the last ARGV line may be open-ended",
        ),
    ],
)
def test_a_header_off_the_convention_is_refused(file: str, source: str, complaint: str) -> None:
    """The first line names the script; KEYS lines match the file name one per line; ARGV lines
    are numbered without gaps; KEYS, ARGV and Returns come in that order; the code uses no KEYS
    or ARGV index the header leaves out. The error names the file and what is wrong."""
    with pytest.raises(ScriptError, match=complaint) as refused:
        parse_script(file, source)
    assert str(refused.value).startswith(f"{file}: ")


def test_a_folder_is_read_whole_and_checked(tmp_path: Path) -> None:
    """Building the loader reads every .lua file of the folder (others are ignored); one bad
    file, two files with one name, or no script at all fail before anything reaches Redis."""
    write(tmp_path, {"bump-1.lua": BUMP, "total-1+n.lua": TOTAL, "README.md": "notes"})
    assert Scripts(None, tmp_path).names == ("bump", "total")
    write(tmp_path, {"bump-2.lua": BUMP})
    with pytest.raises(ScriptError, match=r"bump-2\.lua"):
        Scripts(None, tmp_path)
    (tmp_path / "bump-2.lua").write_text(
        BUMP.replace("-- KEYS[1]  the counter", "-- KEYS[1]  the counter\n-- KEYS[2]  unused")
    )
    with pytest.raises(ScriptError, match=r"bump-2\.lua: bump-1\.lua has the same name"):
        Scripts(None, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScriptError, match="no Lua scripts"):
        Scripts(None, empty)


async def test_a_script_redis_refuses_stops_loading(
    lua_redis: Redis | RedisCluster, tmp_path: Path
) -> None:
    """load() sends every script to Redis, so a syntax error stops start-up, naming the file."""
    broken = BUMP.replace("return redis.call", "return = redis.call")
    write(tmp_path, {"bump-1.lua": broken, "total-1+n.lua": TOTAL})
    scripts = Scripts(lua_redis, tmp_path)
    with pytest.raises(ScriptError, match=r"bump-1\.lua: Redis refused it"):
        await scripts.load()


async def test_calls_survive_a_flushed_script_cache(
    lua_redis: Redis | RedisCluster, tmp_path: Path, tag: str
) -> None:
    """After SCRIPT FLUSH (a restart, a failover) calls still run, alone and pipelined: the
    NOSCRIPT answer is followed by EVAL, and each call runs exactly once."""
    scripts = Scripts(lua_redis, write(tmp_path, {"bump-1.lua": BUMP, "total-1+n.lua": TOTAL}))
    await scripts.load()
    counter = f"{tag}:n"
    assert await scripts.run("bump", [counter], [2]) == 2
    await lua_redis.script_flush()
    assert await scripts.run("bump", [counter], [3]) == 5
    await lua_redis.script_flush()
    calls = [("bump", [counter], [10]), ("bump", [f"{tag}:m"], [1]), ("bump", [counter], [100])]
    assert await scripts.run_many(calls) == [15, 1, 115]
    assert await lua_redis.get(counter) == b"115"


async def test_keys_are_checked_before_redis_and_lists_grow_by_key(
    lua_redis: Redis | RedisCluster, tmp_path: Path, tag: str
) -> None:
    """A call with a key count its file name forbids, or to an unknown script, never reaches
    Redis; a +n script takes its further keys from a KeyList, each key once."""
    scripts = Scripts(lua_redis, write(tmp_path, {"bump-1.lua": BUMP, "total-1+n.lua": TOTAL}))
    await scripts.load()
    with pytest.raises(ScriptError, match="called with 2 keys"):
        await scripts.run("bump", [f"{tag}:a", f"{tag}:b"], [1])
    with pytest.raises(ScriptError, match="no script named 'nope'"):
        await scripts.run_many([("nope", [f"{tag}:a"], [])])
    assert await lua_redis.get(f"{tag}:a") is None
    await scripts.run_many([("bump", [f"{tag}:a"], [4]), ("bump", [f"{tag}:b"], [5])])
    keys = KeyList([f"{tag}:sum"])
    positions = [keys.index(f"{tag}:a"), keys.index(f"{tag}:b"), keys.index(f"{tag}:a")]
    assert positions == [2, 3, 2]
    assert await scripts.run("total", keys.keys, [1]) == 10


async def test_an_error_reply_is_raised_after_the_pipeline_answers(
    lua_redis: Redis | RedisCluster, tmp_path: Path, tag: str
) -> None:
    """In run_many, a script's error reply is raised, and the calls beside it still ran."""
    folder = write(tmp_path, {"bump-1.lua": BUMP, "fail-1.lua": FAIL})
    scripts = Scripts(lua_redis, folder)
    await scripts.load()
    with pytest.raises(ResponseError, match="bad input"):
        await scripts.run_many([("bump", [f"{tag}:x"], [1]), ("fail", [f"{tag}:y"], ["bad input"])])
    assert await lua_redis.get(f"{tag}:x") == b"1"
