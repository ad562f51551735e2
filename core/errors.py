"""Errors raised by ``core``.

Hierarchy::

    ScriptError     a Lua script file is misnamed or lacks its header, a call passes the wrong
                    number of keys, or Redis refused to load a script (the message names the file)
"""

from __future__ import annotations


class ScriptError(Exception):
    """A Lua script could not be read, checked, called as declared, or loaded into Redis."""
