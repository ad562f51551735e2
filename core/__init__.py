"""The bottom of the house: what every package shares, importing nothing of ours (redis-py only).

- :mod:`core.clock` — the one :class:`Clock` (epoch milliseconds, and a sleep a test clock can
  satisfy without real time): :class:`SystemClock`, and :class:`ManualClock` that tests step;
- :mod:`core.lua` — the one loader of every package's Lua scripts (``<package>/lua/*.lua``):
  :class:`Scripts`, :class:`KeyList` for scripts taking a growing key list, :func:`lua_folder`;
- :mod:`core.keys` — :data:`DEFAULT_KEY_PREFIX`, the first part of every Redis key unless the
  settings name another;
- :mod:`core.errors` — :class:`ScriptError`.
"""

from core.clock import Clock, ManualClock, SystemClock
from core.errors import ScriptError
from core.keys import DEFAULT_KEY_PREFIX
from core.lua import KeyList, KeyOrArg, LuaScript, Scripts, lua_folder, read_scripts

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "Clock",
    "KeyList",
    "KeyOrArg",
    "LuaScript",
    "ManualClock",
    "ScriptError",
    "Scripts",
    "SystemClock",
    "lua_folder",
    "read_scripts",
]
