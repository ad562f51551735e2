"""Turning pydantic validation errors into :class:`DefinitionError` with a dotted field name."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from engine.model.errors import DefinitionError

T = TypeVar("T")


_TAGGED = frozenset({"count", "delay"})


def field_name(prefix: str, location: tuple[int | str, ...]) -> str:
    """``prefix.a.b[2]`` from a pydantic error location.

    Pydantic's own markers are left out: ``[key]`` (an invalid mapping key) and the ``kind`` tag
    it inserts after a discriminated field such as ``delay``.
    """
    name = prefix
    previous: int | str | None = None
    for part in location:
        skip = part == "[key]" or (previous in _TAGGED and isinstance(part, str))
        previous = part
        if skip:
            continue
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name = f"{name}.{part}" if name else str(part)
    return name


def definition_error(exc: ValidationError, prefix: str = "") -> DefinitionError:
    """The first problem of ``exc`` as a DefinitionError naming its field."""
    error = exc.errors()[0]
    reason = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if error.get("type") in {"extra_forbidden", "unexpected_keyword_argument"}:
        reason = "is not a known key"
    return DefinitionError(field_name(prefix, tuple(error.get("loc", ()))), reason)


def validate_as(adapter: TypeAdapter[T], data: Any, prefix: str) -> T:
    """Validate ``data`` with ``adapter``; a failure raises DefinitionError under ``prefix``."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise definition_error(exc, prefix) from None
