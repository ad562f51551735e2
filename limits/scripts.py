"""The one loader of the limiter's Lua scripts.

Each script lives in ``limits/lua/<name>-<key count>.lua`` and opens with a comment header that
states its purpose, ``KEYS[i]`` and ``ARGV[i]`` lines and what it ``Returns``. :class:`Scripts`
reads and checks them all when it is built (a malformed file fails at once), and
:meth:`Scripts.load` sends them to Redis at boot, so a Lua syntax error stops start-up instead of
the first request. Calls go through EVALSHA and fall back to loading the script again when the
server has forgotten it (a restart, a failover).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from limits.errors import ScriptLoadError

RedisClient: TypeAlias = "Redis | RedisCluster"
LUA_DIR = Path(__file__).with_name("lua")
_NAME = re.compile(r"^(?P<name>[a-z]+)-(?P<keys>\d+)\.lua$")


@dataclass(frozen=True, slots=True)
class ScriptSource:
    """One script file: its name, the number of keys it takes, and its text."""

    name: str
    key_count: int
    text: str
    path: Path


def read_sources(directory: Path = LUA_DIR) -> dict[str, ScriptSource]:
    """Every ``*.lua`` in ``directory``, checked for a well-formed name and header."""
    sources: dict[str, ScriptSource] = {}
    for path in sorted(directory.glob("*.lua")):
        match = _NAME.match(path.name)
        if match is None:
            raise ScriptLoadError(f"{path.name}: a script is named <name>-<key count>.lua")
        text = path.read_text(encoding="utf-8")
        header = "\n".join(line for line in text.splitlines() if line.startswith("--"))
        key_count = int(match["keys"])
        declared = set(re.findall(r"^-- KEYS\[(\d+)\]", header, flags=re.MULTILINE))
        if declared != {str(i) for i in range(1, key_count + 1)}:
            raise ScriptLoadError(
                f"{path.name}: the header must describe KEYS[1]..KEYS[{key_count}] "
                f"(found {sorted(declared, key=int)})"
            )
        if "-- ARGV[1]" not in header or "-- Returns" not in header:
            raise ScriptLoadError(f"{path.name}: the header must describe ARGV and Returns")
        sources[match["name"]] = ScriptSource(match["name"], key_count, text, path)
    return sources


class Scripts:
    """The limiter's scripts registered on one Redis client; call them by name."""

    def __init__(self, redis: RedisClient, directory: Path = LUA_DIR) -> None:
        self._redis = redis
        self._sources = read_sources(directory)
        self._scripts = {
            name: redis.register_script(source.text) for name, source in self._sources.items()
        }

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._sources)

    async def load(self) -> None:
        """Send every script to Redis (SCRIPT LOAD); a script Redis rejects raises here."""
        for source in self._sources.values():
            try:
                await self._redis.script_load(source.text)
            except ResponseError as exc:
                raise ScriptLoadError(f"{source.path.name}: Redis refused it: {exc}") from None

    async def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script ``name`` with exactly the number of keys its file name declares."""
        source = self._sources[name]
        if len(keys) != source.key_count:
            raise ValueError(f"{source.path.name} takes {source.key_count} keys, got {len(keys)}")
        script: AsyncScript = self._scripts[name]
        return await script(keys=keys, args=args)
