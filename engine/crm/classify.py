"""Turning HubSpot's answers into categories: statuses, error bodies, 207 items and headers.

Every rule comes from research/hubspot-api.md §4–§5. Bodies are parsed defensively: HubSpot says
every field of an error should be treated as optional, and proxies answer 502/524 in HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from engine.crm.errors import (
    AuthFailed,
    Conflict,
    CrmError,
    ErrorCategory,
    NotFound,
    RateLimited,
    RateLimitPolicy,
    ServerError,
    UnexpectedResponse,
    ValidationFailed,
)
from limits import Usage

_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
# Statuses where retrying does not help (research §5.2: 522, 525, 526 mean contact support).
_HOPELESS = frozenset({522, 525, 526})
_CATEGORIES = {
    "VALIDATION_ERROR": ErrorCategory.VALIDATION,
    "INVALID_AUTHENTICATION": ErrorCategory.AUTH,
    "EXPIRED_AUTHENTICATION": ErrorCategory.AUTH,
    "MISSING_SCOPES": ErrorCategory.AUTH,
    "CONFLICT": ErrorCategory.CONFLICT,
    "OBJECT_ALREADY_EXISTS": ErrorCategory.CONFLICT,
    "OBJECT_NOT_FOUND": ErrorCategory.NOT_FOUND,
    "RATE_LIMIT": ErrorCategory.RATE_LIMIT,
    "RATE_LIMITS": ErrorCategory.RATE_LIMIT,
}


def existing_id(message: str | None) -> str | None:
    """The id in HubSpot's ``Contact already exists. Existing ID: N`` message, if any."""
    match = _EXISTING_ID.search(message or "")
    return match.group(1) if match else None


def retry_after_ms(value: str | None) -> int | None:
    """A Retry-After header (seconds, or an HTTP date) in milliseconds; None when absent/bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text) * 1000
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0, int((moment - datetime.now(UTC)).total_seconds() * 1000))


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def usage_from_headers(headers: Mapping[str, str]) -> Usage | None:
    """The ``X-HubSpot-RateLimit-*`` values (research §4.2); None when the response has none
    (search responses carry none)."""
    usage = Usage(
        window_max=_int_header(headers, "X-HubSpot-RateLimit-Max"),
        window_remaining=_int_header(headers, "X-HubSpot-RateLimit-Remaining"),
        daily_max=_int_header(headers, "X-HubSpot-RateLimit-Daily"),
        daily_remaining=_int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining"),
    )
    return None if usage == Usage() else usage


def rate_limit_policy(body: Mapping[str, Any]) -> RateLimitPolicy:
    """Which limit a 429 body names (research §4.3)."""
    name = str(body.get("policyName") or "").upper()
    if name in RateLimitPolicy.__members__:
        return RateLimitPolicy[name]
    message = str(body.get("message") or "").lower()
    if "daily" in message:
        return RateLimitPolicy.DAILY
    if "ten_secondly" in message:
        return RateLimitPolicy.TEN_SECONDLY_ROLLING
    if "secondly" in message or body.get("category") == "RATE_LIMITS":
        return RateLimitPolicy.SECONDLY
    return RateLimitPolicy.UNKNOWN


def _message(body: Mapping[str, Any], status: int) -> str:
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    return f"HubSpot answered {status} without an error message"


def classify(status: int, body: Mapping[str, Any], headers: Mapping[str, str]) -> CrmError:
    """The error for a non-2xx response (``body`` is ``{}`` when it was not JSON)."""
    message = _message(body, status)
    correlation = body.get("correlationId") if isinstance(body.get("correlationId"), str) else None
    category = str(body.get("category") or "")
    retry_after = retry_after_ms(headers.get("Retry-After"))
    kwargs: dict[str, Any] = {"status": status, "correlation_id": correlation}
    if status == 429:
        return RateLimited(
            message, policy=rate_limit_policy(body), retry_after_ms=retry_after, **kwargs
        )
    if status in (401, 403):
        return AuthFailed(message, **kwargs)
    if status == 409 or category in ("CONFLICT", "OBJECT_ALREADY_EXISTS"):
        return Conflict(message, existing_id=existing_id(message), **kwargs)
    if status == 404:
        return NotFound(message, **kwargs)
    if status == 423:
        # A record lock during a large sync; HubSpot says locks last 2 seconds.
        return ServerError(message, retry_after_ms=retry_after or 2_000, **kwargs)
    if status >= 500 or status == 477:
        return ServerError(
            message, retryable=status not in _HOPELESS, retry_after_ms=retry_after, **kwargs
        )
    if status in (400, 405, 411, 413, 414, 415, 422) or category == "VALIDATION_ERROR":
        return ValidationFailed(message, **kwargs)
    return UnexpectedResponse(message, **kwargs)


@dataclass(frozen=True, slots=True)
class ItemError:
    """One entry of a 207 response's ``errors``, classified."""

    category: ErrorCategory
    message: str
    retryable: bool
    existing_id: str | None
    trace_ids: tuple[str, ...]
    ids: tuple[str, ...]


def item_error(error: Mapping[str, Any]) -> ItemError:
    """Classify one error of a multi-status (207) batch response."""
    message = str(error.get("message") or "no message")
    category = _CATEGORIES.get(str(error.get("category") or ""), ErrorCategory.UNKNOWN)
    if category is ErrorCategory.VALIDATION and "already has that value" in message:
        # A duplicate value of a unique property (research §6: shape unconfirmed).
        category = ErrorCategory.CONFLICT
    status = error.get("status")
    if (
        category is ErrorCategory.UNKNOWN
        and isinstance(status, int | str)
        and str(status).isdigit()
    ):
        category = classify(int(status), {}, {}).category
    raw_context = error.get("context")
    context: Mapping[str, Any] = raw_context if isinstance(raw_context, Mapping) else {}
    return ItemError(
        category=category,
        message=message,
        retryable=category in (ErrorCategory.RATE_LIMIT, ErrorCategory.SERVER),
        existing_id=existing_id(message),
        trace_ids=tuple(str(v) for v in context.get("objectWriteTraceId") or ()),
        ids=tuple(str(v) for v in context.get("ids") or context.get("id") or ()),
    )
