"""Logs are JSON lines with bound context, and secrets never reach them."""

from __future__ import annotations

import io

import orjson
import structlog
from pydantic import SecretStr

from engine.logs import configure_logging


def test_json_lines_with_context_and_no_secrets() -> None:
    """Bound context appears in each JSON event; secret-looking fields are masked."""
    sink = io.StringIO()
    configure_logging("info", "json", stream=sink)
    try:
        structlog.contextvars.bind_contextvars(sim_id=7)
        structlog.get_logger().info(
            "token_stored",
            token="pat-na1-123",
            api_key="sk_simcrm_abc",
            authorization="Bearer sk_simcrm_abc",
            password=SecretStr("x"),
            token_last4="0123",
            other=SecretStr("pat-na1-999"),
        )
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()
    raw = sink.getvalue().encode()
    event = orjson.loads(raw.splitlines()[0])
    assert event["event"] == "token_stored"
    assert event["sim_id"] == 7
    assert event["level"] == "info"
    assert "timestamp" in event
    for field in ("token", "api_key", "authorization", "password", "other"):
        assert event[field] == "***"
    assert event["token_last4"] == "0123"
    for secret in (b"pat-na1-123", b"sk_simcrm_abc", b"pat-na1-999"):
        assert secret not in raw


def test_level_filters() -> None:
    """Events below the configured level are not written."""
    sink = io.StringIO()
    configure_logging("warning", "json", stream=sink)
    try:
        structlog.get_logger().info("quiet")
        structlog.get_logger().warning("loud")
    finally:
        structlog.reset_defaults()
    lines = sink.getvalue().splitlines()
    assert [orjson.loads(line)["event"] for line in lines] == ["loud"]
