"""Outage logging: one line when a dependency goes away, one when it is back, none between."""

from __future__ import annotations

from structlog.testing import capture_logs

from core.clock import ManualClock
from core.outages import Dependency, describe


def test_an_outage_is_two_lines_whatever_the_number_of_failures() -> None:
    """Forty failed attempts over 7 s make one `dependency_unavailable` line (with the first
    error) and one `dependency_recovered` line (with the duration and the count)."""
    clock = ManualClock()
    redis = Dependency("redis", clock)
    with capture_logs() as logs:
        redis.succeeded()  # nothing to report while it is up
        for _ in range(40):
            redis.failed(ConnectionError("Error 111 connecting to 127.0.0.1:6379."))
            clock.advance(175)
        assert redis.away
        redis.succeeded()
        redis.succeeded()
    assert [(e["event"], e["dependency"]) for e in logs] == [
        ("dependency_unavailable", "redis"),
        ("dependency_recovered", "redis"),
    ]
    assert logs[0]["error"] == "ConnectionError: Error 111 connecting to 127.0.0.1:6379."
    assert (logs[1]["down_ms"], logs[1]["failures"]) == (7_000, 40)
    assert not redis.away


def test_a_blip_logs_nothing() -> None:
    """Failures that end within a second (stale pooled connections after a restart) are not an
    outage: no line at all."""
    clock = ManualClock()
    redis = Dependency("redis", clock)
    with capture_logs() as logs:
        for _ in range(7):
            redis.failed(ConnectionError("Connection closed by server."))
            clock.advance(100)
        redis.succeeded()
    assert logs == []
    assert not redis.away


def test_describe_keeps_the_first_line_only() -> None:
    """A driver's message quoting the statement and its parameters on later lines is cut."""
    error = RuntimeError("(2003) Can't connect\n[SQL: SELECT key_hash FROM users]\n[params: x]")
    assert describe(error) == "RuntimeError: (2003) Can't connect"
