"""Errors the API answers with, each mapped to a status and a stable ``code``.

    ApiError                      {"error": {"code", "message", "details"}}
    ├── BadRequest          400   bad_request       the body is not JSON, or not an object
    ├── Unauthorized        401   unauthorized      no API key, or an unknown one
    ├── Forbidden           403   forbidden         the caller's role may not do this
    ├── NotFound            404   not_found         no such resource (or not the caller's)
    ├── Conflict            409   conflict          e.g. an illegal simulation status change
    ├── PayloadTooLarge     413   payload_too_large the body exceeds the size limit
    ├── Unprocessable       422   validation_error  the body has bad fields; details name them
    ├── TooManyRequests     429   rate_limited      details carry ``retryAfterMs``
    ├── BadGateway          502   upstream_error    HubSpot (or the sandbox) refused or failed
    ├── Unavailable         503   unavailable       a backing service is down
    └── DatabaseUnavailable 503   database_unavailable  the database is locked or unreachable

Anything else raised by a handler becomes a 500 ``internal_error`` whose traceback is logged, never
sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ApiError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self, message: str, details: Any = None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class Unprocessable(ApiError):
    status = 422
    code = "validation_error"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(
        self, message: str, retry_after_ms: int, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, {"retryAfterMs": retry_after_ms}, headers=headers)
        self.retry_after_ms = retry_after_ms


class BadGateway(ApiError):
    status = 502
    code = "upstream_error"


class Unavailable(ApiError):
    status = 503
    code = "unavailable"


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"


def field_error(field: str, message: str, where: str = "body") -> Unprocessable:
    """A 422 about one field, shaped like the validation errors of the routing layer."""
    return Unprocessable(
        f"{field}: {message}" if field else message,
        [{"field": field or where, "in": where, "message": message}],
    )
