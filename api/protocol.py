"""Requests the HTTP parser refuses, answered like every other error and logged without content.

aiohttp answers a request it cannot parse (a control byte in a header, a header or URL longer
than ``max_line_size``/``max_field_size``, not HTTP at all) before any middleware runs: its
``RequestHandler.handle_error`` logs the parser's message with a traceback and sends it back as
plain text — and that message quotes the offending line, which may be ``Authorization: Bearer
<api key>``. :class:`GuardedRequestHandler` replaces that step: the answer is our JSON error
(``bad_request``) with a message of our own, and the log gets one short line naming the kind of
error, never the bytes received. :class:`ApiRunner` serves an app with it.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from api.routing import json_response

log = structlog.get_logger()

DEFAULT_LINE_LIMIT = 8190  # aiohttp's max_line_size and max_field_size


def rejection(exc: BaseException | None, status: int) -> tuple[int, str, str]:
    """Status, code and message for an error raised before the app saw the request."""
    if isinstance(exc, LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else DEFAULT_LINE_LIMIT
        return 400, "bad_request", f"the URL or a header is longer than {limit} bytes"
    if isinstance(exc, HttpProcessingError):
        return 400, "bad_request", "the request is not valid HTTP/1.1"
    if 400 <= status < 500:
        return status, "bad_request", "the request could not be read"
    return 500, "internal_error", "internal error"


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler, with parser errors answered as JSON and logged blind."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        code_status, code, text = rejection(exc, status)
        if code_status >= 500:
            log.error("api_unhandled_error", exc_info=exc)
        else:
            # The parser's message quotes the bytes received, so only its class is logged.
            log.warning(
                "http_request_rejected",
                status=code_status,
                error=type(exc).__name__ if exc else None,
                remote=request.remote,
            )
        if request.writer.output_size > 0:
            raise ConnectionError("the response had started; the connection is closed instead")
        body = {"error": {"code": code, "message": text, "details": None}}
        response = json_response(code_status, body)
        response.force_close()
        return response


class GuardedServer(web.Server):
    """A low-level server whose connections use :class:`GuardedRequestHandler`."""

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """``web.AppRunner`` serving the app through :class:`GuardedServer`."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        return GuardedServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=made._loop,
            **made._kwargs,
        )
