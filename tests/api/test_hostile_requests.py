"""Requests no client library would send, written as raw bytes to the API's real socket: the API
key never reaches a log line or an answer, and every answer is the API's JSON error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs
from yarl import URL

from api.server import start_server
from tests.api.conftest import api_settings, make_users


@dataclass
class Served:
    host: str
    port: int
    key: str


@pytest.fixture
async def served(database_file: str, redis_url: str, redis: Redis) -> AsyncIterator[Served]:
    keys = await make_users(database_file)
    running = await start_server(api_settings(), redis_url=redis_url, database_url=database_file)
    url = URL(running.url)
    try:
        yield Served(str(url.host), int(url.port or 0), keys["member"])
    finally:
        await running.close()


@dataclass
class Answer:
    status: int
    headers: str
    body: bytes
    logs: str

    def json(self) -> Any:
        return orjson.loads(self.body)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[list[MutableMapping[str, Any]]]:
    """Every structlog event and (through ``caplog``) every stdlib record of the test."""
    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        yield events


async def send_raw(served: Served, raw: bytes) -> tuple[int, str, bytes]:
    reader, writer = await asyncio.open_connection(served.host, served.port)
    try:
        writer.write(raw)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body


async def ask(
    served: Served,
    raw: bytes,
    caplog: pytest.LogCaptureFixture,
    events: list[MutableMapping[str, Any]],
) -> Answer:
    status, head, body = await send_raw(served, raw)
    await asyncio.sleep(0)  # let the server finish logging the exchange
    logs = caplog.text + "\n".join(repr(event) for event in events)
    return Answer(status, head, body, logs)


def request(path: bytes, *headers: bytes) -> bytes:
    lines = [b"GET " + path + b" HTTP/1.1", b"Host: localhost", *headers, b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def assert_json_error(answer: Answer, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, answer
    assert "application/json" in answer.headers.lower()
    body = answer.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return dict(body["error"])


async def test_control_byte_after_the_key_is_neither_logged_nor_echoed(
    served: Served, caplog: pytest.LogCaptureFixture, all_logs: list[MutableMapping[str, Any]]
) -> None:
    """A control byte in the Authorization header makes the parser refuse the request: the
    answer is a 400 JSON error that does not quote the header, and no log line holds the key."""
    raw = request(b"/api/me", b"Authorization: Bearer " + served.key.encode() + b"\x01x")
    answer = await ask(served, raw, caplog, all_logs)
    assert_json_error(answer, 400, "bad_request")
    assert served.key not in answer.body.decode()
    assert served.key not in answer.logs
    assert "Traceback" not in answer.logs
    assert any(event["event"] == "http_request_rejected" for event in all_logs)


async def test_an_over_long_authorization_header_is_a_json_error_without_the_key(
    served: Served, caplog: pytest.LogCaptureFixture, all_logs: list[MutableMapping[str, Any]]
) -> None:
    """A header over the 8 KiB line limit starting with the key: 400 JSON naming the limit, the
    key in neither the body nor the logs."""
    header = b"Authorization: Bearer " + served.key.encode() + b"A" * 9000
    answer = await ask(served, request(b"/api/me", header), caplog, all_logs)
    error = assert_json_error(answer, 400, "bad_request")
    assert "longer than 8190 bytes" in error["message"]
    assert served.key not in answer.body.decode()
    assert served.key not in answer.logs
    assert "Traceback" not in answer.logs


async def test_an_over_long_url_is_a_json_error(
    served: Served, caplog: pytest.LogCaptureFixture, all_logs: list[MutableMapping[str, Any]]
) -> None:
    """A URL over the line limit gets the API's JSON error, not aiohttp's plain text."""
    answer = await ask(served, request(b"/api/health?q=" + b"q" * 9000), caplog, all_logs)
    assert_json_error(answer, 400, "bad_request")
    assert b"qqqq" not in answer.body
    assert "qqqq" not in answer.logs


async def test_non_utf8_bytes_in_the_authorization_header_are_a_401_without_a_traceback(
    served: Served, caplog: pytest.LogCaptureFixture, all_logs: list[MutableMapping[str, Any]]
) -> None:
    """Undecodable bytes around the key: 401 JSON, one short log line, no traceback, no key."""
    header = b"Authorization: Bearer \xff\xfe" + served.key.encode()
    answer = await ask(served, request(b"/api/me", header), caplog, all_logs)
    assert_json_error(answer, 401, "unauthorized")
    assert served.key not in answer.logs and served.key not in answer.body.decode()
    assert "Traceback" not in answer.logs
    assert [event["event"] for event in all_logs] == ["api_key_malformed"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
