"""Errors of the simulation model.

Hierarchy::

    ModelError                      anything the model refuses
    └── DefinitionError             a simulation definition or scenario override is invalid;
                                    ``field`` names the offending field (dotted for nested
                                    values, e.g. ``scenario_overrides.activities.note.cap``)

The model is pure: it raises nothing about I/O. Callers at the edge (the API, ``simcrm sim plan``)
turn a :class:`DefinitionError` into a 422 or a one-line message naming the field.
"""

from __future__ import annotations


class ModelError(Exception):
    """Base class of the model's errors."""


class DefinitionError(ModelError, ValueError):
    """A definition value is invalid. ``field`` is its dotted name, ``reason`` what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type[DefinitionError], tuple[str, str]]:
        # Rebuilt from both fields when it crosses a process boundary (the API's model workers).
        return type(self), (self.field, self.reason)
