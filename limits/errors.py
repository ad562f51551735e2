"""Errors raised by ``limits``.

Hierarchy::

    LimitsError                 base of everything this package raises
    ├── LimitConfigError        a LimitConfig value is out of range (names the field)
    ├── UnknownKind             acquire/report got a request kind the configuration does not know
    └── CostTooLarge            a cost larger than the kind's bucket can ever hold

A Lua script that is malformed or that Redis refuses raises :class:`core.errors.ScriptError`.
"""

from __future__ import annotations


class LimitsError(Exception):
    """Base class of the errors raised by the rate limiter."""


class LimitConfigError(LimitsError, ValueError):
    """A limiter setting is out of range; the message names the field."""


class UnknownKind(LimitsError, ValueError):
    """A request kind that is neither an object type, ``search`` nor ``other``."""


class CostTooLarge(LimitsError, ValueError):
    """The cost exceeds the bucket's capacity, so the request could never be admitted."""
