"""Structured logging, configured once per entry point.

JSON lines (rendered by orjson) when stderr is not a terminal or LOG_FORMAT=json; readable colour
when it is. Context bound with ``structlog.contextvars.bind_contextvars(sim_id=…, job_id=…)`` is
merged into every event. Any event value whose key looks like a secret (token, password, api key,
authorization, secret) is replaced by ``"***"`` before rendering, wherever it was bound.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, BinaryIO, TextIO

import orjson
import structlog
from pydantic import SecretStr

REDACTED = "***"
DEFAULT_LEVEL = "info"
FORMATS = ("json", "console")
_SECRET_WORDS = ("token", "password", "passwd", "secret", "api_key", "apikey", "authorization")


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS) and not lowered.endswith(
        ("_id", "_last4", "_count", "_len")
    )


def redact_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Processor: mask values under secret-looking keys and any SecretStr anywhere at top level."""
    for key, value in event.items():
        if isinstance(value, SecretStr) or (key != "event" and _is_secret_key(key)):
            event[key] = REDACTED
    return event


def _orjson_dumps(value: Any, **_: Any) -> bytes:
    return orjson.dumps(value, default=str)


def _orjson_dumps_text(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(
    level: str = DEFAULT_LEVEL, fmt: str | None = None, stream: TextIO | None = None
) -> None:
    """Configure structlog (and the stdlib root logger) for this process.

    Args:
        level: the lowest level written (debug, info, warning, error).
        fmt: ``"json"`` or ``"console"``; by default console on a terminal, JSON otherwise.
        stream: where logs go; stderr by default, so stdout stays clean for command output.
    """
    out = stream or sys.stderr
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    use_json = fmt == "json" or (fmt is None and not out.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    if use_json:
        # Bytes straight from orjson to the binary buffer when the stream has one (stderr does).
        binary: BinaryIO | None = getattr(out, "buffer", None)
        serializer = _orjson_dumps if binary is not None else _orjson_dumps_text
        processors = [
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=serializer),
        ]
        factory: Any = (
            structlog.BytesLoggerFactory(binary)
            if binary is not None
            else structlog.PrintLoggerFactory(out)
        )
    else:
        processors = [*shared, structlog.dev.ConsoleRenderer(colors=out.isatty())]
        factory = structlog.PrintLoggerFactory(out)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=out, force=True)
