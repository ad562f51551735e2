"""HubSpot's response bodies, as research/hubspot-api.md records them (§1.2, §1.4, §4.3, §5)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

JSON_TYPE = "application/json;charset=utf-8"
BATCH_TOO_LARGE = (
    "The maximum number of inputs supported in a batch is 100. "
    "Please reduce the number of items and try again"
)
HISTORY_TOO_LARGE = (
    "The maximum number of inputs supported in a batch request for property histories is 50. "
    "Please reduce the number of items and try again"
)
UNAUTHORIZED = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
MISSING_SCOPES = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)


def iso(epoch_ms: int) -> str:
    """``2022-02-17T19:13:11.178Z``: how HubSpot writes instants."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def correlation_id() -> str:
    return str(uuid.uuid4())


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = web.Response(body=orjson.dumps(body), status=status, headers=headers)
    response.headers["Content-Type"] = JSON_TYPE
    return response


def error(
    message: str,
    category: str,
    *,
    context: Mapping[str, Sequence[str]] | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    links: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The generic error body (research §5.1)."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
    }
    if context:
        body["context"] = {k: list(v) for k, v in context.items()}
    if errors:
        body["errors"] = list(errors)
    if links:
        body["links"] = dict(links)
    body["category"] = category
    return body


def item_error(message: str, category: str, context: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """One entry of a 207 response's ``errors`` (a ``StandardError``)."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {k: list(v) for k, v in context.items()},
        "errors": [],
        "links": {},
    }


def ten_secondly(portal_id: int, app_id: int) -> dict[str, Any]:
    return {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": f"publicapi:private_app-api-calls-ten-secondly:{app_id}:{portal_id}",
    }


def daily() -> dict[str, Any]:
    return {
        "status": "error",
        "message": "You have reached your daily limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": "DAILY",
        "requestId": correlation_id(),
    }


def search_secondly() -> dict[str, Any]:
    return {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "correlationId": correlation_id(),
        "category": "RATE_LIMITS",
    }


def unauthorized() -> dict[str, Any]:
    return error(UNAUTHORIZED, "INVALID_AUTHENTICATION")


def missing_scopes(scopes: Sequence[str]) -> dict[str, Any]:
    return error(
        MISSING_SCOPES,
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredScopes": list(scopes)},
            }
        ],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def contact_exists(existing_id: str) -> str:
    return f"Contact already exists. Existing ID: {existing_id}"


def invalid_properties(problems: Sequence[Mapping[str, Any]]) -> str:
    """``Property values were not valid: [...]`` with each problem as HubSpot lists it."""
    return "Property values were not valid: " + orjson.dumps(list(problems)).decode()
