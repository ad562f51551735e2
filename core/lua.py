"""The one loader of the project's Lua scripts: every package keeps its own in ``<package>/lua``.

Naming: ``<name>-<keys>.lua`` takes exactly that many keys (``promote-3.lua``);
``<name>-<fixed>+n.lua`` takes ``fixed`` keys and then any number of further ones
(``settle-5+n.lua``), which its arguments point at by index (see :class:`KeyList`).

Every file opens with a header of ``--`` lines, in this order::

    -- <name>: <purpose, one line>
    --
    -- <what else a caller must know, any number of lines>
    --
    -- KEYS[1]  <one line per key, in order; KEYS[n..] for the further keys of a +n script>
    -- ARGV[1]  <one line per argument, in order; ARGV[m..] for a repeating tail>
    -- Returns  <the reply>
    --          <a line that goes on is indented>

The header ends at the first line that is not a comment. :func:`read_scripts` refuses a file
whose name, first line or KEYS lines disagree, whose KEYS/ARGV/Returns lines are missing, out of
order or numbered with gaps, or whose code uses a KEYS or ARGV index its header does not declare;
so :class:`Scripts` fails when it is built, before anything reaches Redis.

:meth:`Scripts.load` sends every script to Redis at boot (SCRIPT LOAD, which redis-py sends to
every primary of a Cluster), so a script Redis refuses stops start-up. Calls use EVALSHA and fall
back to EVAL when the server has lost the script (a restart, a failover, SCRIPT FLUSH); several
calls can share one pipelined round trip (:meth:`Scripts.run_many`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from redis.exceptions import NoScriptError, ResponseError

from core.errors import ScriptError

KeyOrArg = str | bytes | int | float
Call = tuple[str, Sequence[str], Sequence[KeyOrArg]]

_FILE = re.compile(r"^(?P<name>[a-z][a-z_]*)-(?P<fixed>\d+)(?P<more>\+n)?\.lua$")
_ITEM = re.compile(r"^-- (?P<kind>KEYS|ARGV)\[(?P<index>\d+)(?P<open>\.\.)?\]\s+\S")
_RETURNS = re.compile(r"^-- Returns\s+\S")
_CONTINUED = re.compile(r"^--\s{2,}\S")
_USED = {kind: re.compile(rf"\b{kind}\[(\d+)\]") for kind in ("KEYS", "ARGV")}
_SECTIONS = ("about", "KEYS", "ARGV", "Returns")


@dataclass(frozen=True, slots=True)
class LuaScript:
    """One checked script: its name, file, source, SHA1 and the keys it takes."""

    name: str
    file: str
    source: str
    sha: str
    fixed_keys: int
    variadic: bool

    def check_keys(self, count: int) -> None:
        """Refuse a call with fewer keys than declared, or more when the script is not +n."""
        if count < self.fixed_keys or (count > self.fixed_keys and not self.variadic):
            raise ScriptError(f"{self.file}: called with {count} keys")


@dataclass(frozen=True, slots=True)
class _Declared:
    """What a header declares: KEYS and ARGV counts, and whether each has an open tail."""

    keys: int
    keys_open: bool
    args: int
    args_open: bool


def _declared(file: str, header: Sequence[str]) -> _Declared:
    """Walk the header after its first line: description, then KEYS, ARGV, Returns."""
    section = "about"
    items: dict[str, list[tuple[int, bool]]] = {"KEYS": [], "ARGV": []}
    for line in header:
        item = _ITEM.match(line)
        if item is not None:
            kind = item["kind"]
            if _SECTIONS.index(section) > _SECTIONS.index(kind):
                raise ScriptError(
                    f"{file}: KEYS, ARGV and Returns lines come in that order "
                    f"(a {kind} line follows the {section} lines)"
                )
            section = kind
            items[kind].append((int(item["index"]), bool(item["open"])))
        elif _RETURNS.match(line):
            if section == "Returns":
                raise ScriptError(f"{file}: the header has two Returns lines")
            section = "Returns"
        elif section != "about" and not _CONTINUED.match(line):
            raise ScriptError(
                f"{file}: after the first KEYS/ARGV line the header holds only KEYS, ARGV and "
                f"Returns lines and indented continuations (found {line!r})"
            )
    if section != "Returns":
        raise ScriptError(f"{file}: the header must end with a '-- Returns …' line")
    counts: dict[str, tuple[int, bool]] = {}
    for kind, declared in items.items():
        numbers = [index for index, _ in declared]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ScriptError(f"{file}: {kind} lines must be numbered 1, 2, … (found {numbers})")
        if any(is_open for _, is_open in declared[:-1]):
            raise ScriptError(f"{file}: only the last {kind} line may be open-ended ([n..])")
        open_tail = bool(declared) and declared[-1][1]
        counts[kind] = (len(declared) - int(open_tail), open_tail)
    return _Declared(*counts["KEYS"], *counts["ARGV"])


def parse_script(file: str, source: str) -> LuaScript:
    """Check one script file's name and header against the convention; raise ScriptError."""
    match = _FILE.match(file)
    if match is None:
        raise ScriptError(f"{file}: a script file is named <name>-<keys>.lua or <name>-<n>+n.lua")
    name, fixed, variadic = match["name"], int(match["fixed"]), bool(match["more"])
    lines = source.splitlines()
    header_end = next((n for n, line in enumerate(lines) if not line.startswith("--")), len(lines))
    header, body = lines[:header_end], "\n".join(lines[header_end:])
    if not header or not re.match(rf"^-- {name}: \S", header[0]):
        raise ScriptError(f"{file}: the first line must be '-- {name}: <purpose>'")
    declared = _declared(file, header[1:])
    if (declared.keys, declared.keys_open) != (fixed, variadic):
        tail = f" and KEYS[{fixed + 1}..]" if variadic else ""
        raise ScriptError(
            f"{file}: the header must describe KEYS[1]..KEYS[{fixed}]{tail}, one per line"
        )
    for kind, count, is_open in (
        ("KEYS", declared.keys, declared.keys_open),
        ("ARGV", declared.args, declared.args_open),
    ):
        used = max((int(index) for index in _USED[kind].findall(body)), default=0)
        if used > count and not is_open:
            raise ScriptError(f"{file}: the code uses {kind}[{used}], the header stops at {count}")
    return LuaScript(
        name=name,
        file=file,
        source=source,
        sha=hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest(),
        fixed_keys=fixed,
        variadic=variadic,
    )


def lua_folder(package: str) -> Traversable:
    """The ``lua`` folder of an importable package (``"streams"``, ``"engine.runtime"``)."""
    return resources.files(package).joinpath("lua")


def read_scripts(folder: Traversable) -> dict[str, LuaScript]:
    """Every ``*.lua`` file of ``folder``, checked, by script name; an empty folder is refused."""
    scripts: dict[str, LuaScript] = {}
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".lua"):
            continue
        script = parse_script(item.name, item.read_text(encoding="utf-8"))
        if script.name in scripts:
            raise ScriptError(f"{item.name}: {scripts[script.name].file} has the same name")
        scripts[script.name] = script
    if not scripts:
        raise ScriptError(f"no Lua scripts in {folder}")
    return scripts


class KeyList:
    """The KEYS of a call to a +n script: the fixed keys first, then each further key once, in
    the order first asked for; :meth:`index` gives the 1-based position the script uses."""

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
    """The scripts of one ``lua`` folder over one Redis client (standalone or Cluster), called
    by name with keys then arguments. The client is neither opened nor closed here."""

    def __init__(self, client: Any, folder: Traversable) -> None:
        self._client = client
        self._scripts = read_scripts(folder)

    def __contains__(self, name: object) -> bool:
        return name in self._scripts

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._scripts))

    async def load(self) -> None:
        """Send every script to Redis (every primary of a Cluster); raise ScriptError naming the
        file when Redis refuses one (a syntax error)."""
        for script in self._scripts.values():
            try:
                sha = await self._client.script_load(script.source)
            except ResponseError as exc:
                raise ScriptError(f"{script.file}: Redis refused it: {exc}") from None
            if (sha.decode() if isinstance(sha, bytes) else sha) != script.sha:
                raise ScriptError(f"{script.file}: Redis answered SHA1 {sha!r}, not {script.sha}")

    async def run(self, name: str, keys: Sequence[str], args: Sequence[KeyOrArg]) -> Any:
        """Run script ``name`` with ``keys`` then ``args`` (EVALSHA, EVAL when not loaded)."""
        script = self._checked(name, keys)
        try:
            return await self._client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self._client.eval(script.source, len(keys), *keys, *args)

    async def run_many(self, calls: Sequence[Call]) -> list[Any]:
        """Run several calls in one pipelined round trip (one per node on a Cluster), in order,
        and return their replies in the same order.

        A call answered NOSCRIPT did not run; it is sent again with EVAL. The first other error
        is raised once every reply has arrived.
        """
        if len(calls) == 1:
            name, keys, args = calls[0]
            return [await self.run(name, keys, args)]
        pipe = self._client.pipeline(transaction=False)
        for name, keys, args in calls:
            script = self._checked(name, keys)
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        results: list[Any] = list(await pipe.execute(raise_on_error=False))
        for position, result in enumerate(results):
            if isinstance(result, NoScriptError):
                name, keys, args = calls[position]
                source = self._scripts[name].source
                results[position] = await self._client.eval(source, len(keys), *keys, *args)
            elif isinstance(result, Exception):
                raise result
        return results

    def _checked(self, name: str, keys: Sequence[str]) -> LuaScript:
        script = self._scripts.get(name)
        if script is None:
            raise ScriptError(f"no script named {name!r} (known: {', '.join(self.names)})")
        script.check_keys(len(keys))
        return script
