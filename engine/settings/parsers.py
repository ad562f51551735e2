"""Value rules of the settings: each turns an environment string (or a Python value given by a
test) into the field's type, or raises ValueError with the "must be …" half of the message that
:func:`engine.settings.section.problem` completes with the variable's name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, SecretStr

from engine.settings.crypto import decode_secret

Parser = Callable[[Any], Any]


def int_between(low: int, high: int | None) -> Parser:
    """An integer from ``low`` to ``high`` (no upper bound when None); None stays None."""
    what = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"

    def parse(value: Any) -> Any:
        if value is None:
            return None
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if isinstance(value, bool) or number < low or (high is not None and number > high):
            raise ValueError(f"must be {what}")
        return number

    return parse


def between(low: int, high: int | None) -> BeforeValidator:
    """The field rule of :func:`int_between`, for ``Annotated[int, between(1, 100)]``."""
    return BeforeValidator(int_between(low, high))


def number_list(kind: type[int] | type[float], what: str) -> Parser:
    """A non-empty comma-separated list (or sequence) of numbers, none negative, as a tuple."""

    def parse(value: Any) -> Any:
        if value is None:
            return None
        items = value.split(",") if isinstance(value, str) else list(value)
        try:
            numbers = tuple(kind(str(item).strip()) for item in items)
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if not numbers or any(n < 0 for n in numbers):
            raise ValueError(f"must be {what}")
        return numbers

    return parse


def flag(value: Any) -> Any:
    """1/0, true/false, yes/no, on/off (an empty value is off)."""
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be 1 or 0 (true/false)")


def url(schemes: Iterable[str]) -> Parser:
    """A URL whose scheme (before any ``+driver``) is one of ``schemes``."""
    allowed = tuple(schemes)

    def parse(value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        scheme = text.split("://", 1)[0].split("+", 1)[0] if "://" in text else ""
        if scheme not in allowed:
            raise ValueError(
                f"must be a URL starting with {' or '.join(s + '://' for s in allowed)}"
            )
        return text

    return parse


def key_prefix(value: Any) -> Any:
    """1 to 64 characters without braces or blanks: braces would break the keys' hash tags."""
    text = str(value).strip()
    if not text or len(text) > 64 or any(ch in text for ch in "{} \t\n"):
        raise ValueError("must be 1 to 64 characters without braces or spaces")
    return text


def secret_key(value: Any) -> Any:
    """A 32-byte key (see :func:`decode_secret`), kept as a SecretStr; None stays None."""
    if value is None:
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    decode_secret(text)
    return SecretStr(text.strip())


def secret_key_list(value: Any) -> Any:
    """A comma-separated list (or sequence) of 32-byte keys; empty when unset."""
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(secret_key(item) for item in items if str(item).strip())


def one_of(allowed: Iterable[int]) -> Parser:
    """One of the integers ``allowed``."""
    choices = tuple(allowed)

    def parse(value: Any) -> Any:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number not in choices or isinstance(value, bool):
            raise ValueError(f"must be one of {', '.join(map(str, choices))}")
        return number

    return parse


def choice(allowed: Iterable[str]) -> Parser:
    """One of the words ``allowed``, in any case; unset or empty is None."""
    choices = tuple(allowed)

    def parse(value: Any) -> Any:
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return parse


def lower(value: Any) -> Any:
    """The text in lower case, without surrounding blanks."""
    return str(value).strip().lower()


def time_zone(value: Any) -> Any:
    """An IANA time zone name this machine knows."""
    text = str(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name such as UTC or America/New_York") from None
    return text
