"""A small JSON client of the SimCRM API for the command line (one aiohttp session)."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

TIMEOUT_S = 30.0


class ApiFailure(Exception):
    """The API answered with an error, or could not be reached. The message is one line."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ApiClient:
    def __init__(self, base_url: str, api_key: SecretStr, *, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> ApiClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; returns the decoded JSON answer (None for an empty one).

        Raises:
            ApiFailure: an error answer (its message, and the fields it names) or no answer.
        """
        if self._session is None:
            raise RuntimeError("use the client inside `async with`")
        headers = {"Authorization": f"Bearer {self._key.get_secret_value()}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(body)
        url = f"{self.base_url}{path}"
        try:
            async with self._session.request(method, url, data=data, headers=headers) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiFailure(f"cannot reach the API at {self.base_url}: {reason}") from None
        answer = orjson.loads(raw) if raw else None
        if status >= 400:
            raise _failure(status, answer)
        return answer


def _failure(status: int, answer: Any) -> ApiFailure:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return ApiFailure(f"the API answered {status}", status)
    message = str(error.get("message", f"the API answered {status}"))
    details = error.get("details")
    if status == 429 and isinstance(details, dict) and "retryAfterMs" in details:
        message = f"{message} (retry after {details['retryAfterMs']} ms)"
    return ApiFailure(message, status, error.get("code"))
