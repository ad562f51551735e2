"""The queue's Lua scripts: read from ``streams/lua/``, loaded at boot, called by name.

Each file is named ``<name>-<keys>.lua`` (``promote-3.lua`` takes exactly 3 keys) or, for a script
whose key list grows with its input, ``<name>-<fixed>+n.lua`` (``settle-5+n.lua``: 5 fixed keys,
then any number of further keys, all of the same shard, which its records point at by index; see
:class:`KeyList`). Each opens with a header of ``--`` comments stating its purpose, KEYS, ARGV and
return value. :meth:`Scripts.load` sends every script to Redis (to every primary of a Cluster), so
a syntax error stops start-up; calls use EVALSHA and fall back to EVAL when the server has lost the
script (restart, failover, ``SCRIPT FLUSH``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.exceptions import NoScriptError, ResponseError

from streams.errors import ScriptError

_NAME = re.compile(r"^(?P<name>[a-z]+)-(?P<fixed>\d+)(?P<more>\+n)?\.lua$")
_HEADER = ("KEYS", "ARGV", "Returns")

KeyOrArg = str | bytes | int | float


@dataclass(frozen=True, slots=True)
class LuaScript:
    """One script: its source, SHA1, and how many keys it takes."""

    name: str
    source: str
    sha: str
    fixed_keys: int
    variadic: bool

    def check_keys(self, count: int) -> None:
        if count < self.fixed_keys or (count > self.fixed_keys and not self.variadic):
            raise ScriptError(f"script {self.name} called with {count} keys")


def read_scripts(package: str = "streams") -> dict[str, LuaScript]:
    """Every script in ``<package>/lua``, checked for a well-formed name and header."""
    scripts: dict[str, LuaScript] = {}
    for item in resources.files(package).joinpath("lua").iterdir():
        if not item.name.endswith(".lua"):
            continue
        match = _NAME.match(item.name)
        if match is None:
            raise ScriptError(f"script file {item.name} is not named <name>-<keys>.lua")
        source = item.read_text(encoding="utf-8")
        header = "\n".join(line for line in source.splitlines() if line.startswith("--"))
        missing = [word for word in _HEADER if word not in header]
        if missing or not source.startswith(f"-- {match['name']}:"):
            raise ScriptError(f"script {item.name} lacks a header (purpose, KEYS, ARGV, Returns)")
        scripts[match["name"]] = LuaScript(
            name=match["name"],
            source=source,
            sha=hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest(),
            fixed_keys=int(match["fixed"]),
            variadic=bool(match["more"]),
        )
    return scripts


class KeyList:
    """The KEYS of a variadic script call: fixed keys first, then each further key once, in the
    order first asked for; :meth:`index` gives the 1-based position Lua uses."""

    __slots__ = ("_positions", "keys")

    def __init__(self, fixed: Sequence[str]) -> None:
        self.keys = list(fixed)
        self._positions: dict[str, int] = {key: n for n, key in enumerate(self.keys, 1)}

    def index(self, key: str) -> int:
        position = self._positions.get(key)
        if position is None:
            self.keys.append(key)
            position = self._positions[key] = len(self.keys)
        return position


class Scripts:
    """The loaded scripts of one Redis client (standalone or Cluster).

    ``package`` names whose ``lua/`` folder to load: the queue's own by default; the runtime
    loads ``engine.runtime``'s through the same loader.
    """

    def __init__(self, client: Any, package: str = "streams") -> None:
        self._client = client
        self._scripts = read_scripts(package)

    def __contains__(self, name: str) -> bool:
        return name in self._scripts

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._scripts))

    async def load(self) -> None:
        """Send every script to the server; a compile error raises :class:`ScriptError`."""
        for script in self._scripts.values():
            try:
                await self._client.script_load(script.source)
            except ResponseError as exc:
                raise ScriptError(f"script {script.name} does not load: {exc}") from None

    async def run(self, name: str, keys: Sequence[str], args: Sequence[KeyOrArg]) -> Any:
        """Run script ``name`` with ``keys`` then ``args``."""
        script = self._scripts[name]
        script.check_keys(len(keys))
        try:
            return await self._client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self._client.eval(script.source, len(keys), *keys, *args)

    async def run_many(
        self, calls: Sequence[tuple[str, Sequence[str], Sequence[KeyOrArg]]]
    ) -> list[Any]:
        """Run several scripts in one pipelined round trip (per node on a Cluster), in order.

        Every script of the queue is safe to run twice, so a call the server answered with
        NOSCRIPT is simply sent again with EVAL. Other errors are raised.
        """
        if len(calls) == 1:
            name, keys, args = calls[0]
            return [await self.run(name, keys, args)]
        pipe = self._client.pipeline(transaction=False)
        for name, keys, args in calls:
            script = self._scripts[name]
            script.check_keys(len(keys))
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        results: list[Any] = list(await pipe.execute(raise_on_error=False))
        for index, result in enumerate(results):
            if isinstance(result, NoScriptError):
                name, keys, args = calls[index]
                results[index] = await self.run(name, keys, args)
            elif isinstance(result, Exception):
                raise result
        return results
