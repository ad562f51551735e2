"""The HTTP side of the HubSpot client: one aiohttp session per process, the limiter around it.

Every request for an account goes: ``Limiter.acquire`` (refused → :class:`Throttled`, or a
sleep when the transport waits for limits) → send → ``Limiter.report`` with what it met (the
``X-HubSpot-RateLimit-*`` headers, a 429's policy and Retry-After, a failure for the breaker,
the round trip for the learnt margin) → the body, or the classified :class:`CrmError`. A request
names its *sender* (the simulation it is made for) when it has one, so that simulations on one
account share its burst window fairly. Tokens travel only in the Authorization header:
they are never logged, put in an error or shown by a repr.

The transport knows methods, paths and JSON bodies, not CRM objects: the operations on an account
are :class:`~engine.crm.portal.PortalClient`'s, built over a transport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import orjson
import structlog
from multidict import CIMultiDictProxy
from pydantic import SecretStr

from core.clock import Clock, SystemClock
from engine.crm.classify import classify, usage_from_headers
from engine.crm.errors import (
    CrmError,
    NetworkError,
    RateLimited,
    RateLimitPolicy,
    ServerError,
    Throttled,
    UnexpectedResponse,
)
from limits import OTHER, Decision, Limiter, Outcome, Policy, Usage

if TYPE_CHECKING:
    from engine.settings import Settings

T = TypeVar("T")
log = structlog.get_logger("crm")
DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_CONNECT_TIMEOUT_MS = 5_000
DEFAULT_MAX_CONNECTIONS = 32
_POLICIES = {
    RateLimitPolicy.DAILY: Policy.DAILY,
    RateLimitPolicy.SECONDLY: Policy.SEARCH,
    RateLimitPolicy.TEN_SECONDLY_ROLLING: Policy.WINDOW,
    RateLimitPolicy.UNKNOWN: Policy.WINDOW,
}


@dataclass(frozen=True, slots=True)
class Response:
    """A 2xx answer: status, parsed JSON body (None when empty), headers, rate-limit usage."""

    status: int
    body: Any
    headers: CIMultiDictProxy[str]
    usage: Usage | None


def secret_token(token: SecretStr | str) -> SecretStr:
    """``token`` without surrounding blanks, as a secret; an empty token is a ValueError."""
    text = token.get_secret_value() if isinstance(token, SecretStr) else token
    if not text.strip():
        raise ValueError("the HubSpot token is empty")
    return SecretStr(text.strip())


class HubSpotTransport:
    """The process's connection pool to one HubSpot base URL, with the limiter around it.

    Use as ``async with HubSpotTransport(base_url, limiter=limiter) as transport``. With a
    limiter, requests refused by it raise :class:`Throttled` — unless ``wait_for_limits`` is set,
    in which case the transport sleeps for the named wait (up to ``max_wait_ms`` in all) and
    tries again; that suits scripts and benchmarks, while the job runtime reschedules instead.
    ``clock`` (the system clock by default) times the limiter's calls and those waits.
    """

    def __init__(
        self,
        base_url: str,
        *,
        limiter: Limiter | None = None,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        connect_timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        wait_for_limits: bool = False,
        max_wait_ms: int = 120_000,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_ms / 1000, connect=connect_timeout_ms / 1000
        )
        self._max_connections = max_connections
        self._wait = wait_for_limits
        self._max_wait_ms = max_wait_ms
        self._clock: Clock = clock or SystemClock()
        self._session: aiohttp.ClientSession | None = None
        # Admission and sending happen under one slot of the pool: a request admitted by the
        # limiter must not then queue for a connection, or it reaches HubSpot late.
        self._in_flight = asyncio.Semaphore(max_connections)
        # One-time set-ups done over this transport (see once()), and one lock per set-up so
        # concurrent callers do not all run it at once.
        self._done: set[Hashable] = set()
        self._setup_locks: dict[Hashable, asyncio.Lock] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        limiter: Limiter | None = None,
        base_url: str | None = None,
        **options: Any,
    ) -> HubSpotTransport:
        """A transport to HUBSPOT_BASE_URL (or ``base_url``) with the HUBSPOT_* timeouts and
        pool size."""
        client = settings.hubspot
        return cls(
            base_url or client.base_url,
            limiter=limiter,
            timeout_ms=client.timeout_ms,
            connect_timeout_ms=client.connect_timeout_ms,
            max_connections=client.max_connections,
            **options,
        )

    def __repr__(self) -> str:
        return f"HubSpotTransport(base_url={self.base_url!r}, limiter={self.limiter is not None})"

    async def __aenter__(self) -> HubSpotTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=self._max_connections
            )
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def once(self, key: Hashable, setup: Callable[[], Awaitable[T]]) -> T | None:
        """Run ``setup`` at most once per ``key`` for the life of this transport.

        Returns what ``setup`` returned when this call ran it, None when it had run before.
        Concurrent calls with one key wait for the first; a ``setup`` that raises is not
        remembered, so the next call runs it again.
        """
        if key in self._done:
            return None
        async with self._setup_locks.setdefault(key, asyncio.Lock()):
            if key in self._done:  # another task ran it meanwhile
                return None
            result = await setup()
            self._done.add(key)
        return result

    async def note_time_zone(self, portal: str, time_zone: str | None) -> None:
        """Tell the limiter ``portal``'s time zone (account info's ``timeZone``): HubSpot resets
        an account's daily limit at midnight there, not in UTC."""
        if self.limiter is not None and time_zone:
            await self.limiter.set_time_zone(portal, time_zone, now_ms=self._clock.now_ms())

    async def count_sent(self, portal: str, requests: int) -> None:
        """Count ``requests`` already sent for ``portal`` without admission (the account was not
        known yet) against its limits, so the burst that follows cannot exceed them by these."""
        if self.limiter is not None:
            for _ in range(requests):
                await self.limiter.acquire(portal, OTHER, now_ms=self._clock.now_ms())

    async def request(
        self,
        token: SecretStr,
        portal: str | None,
        method: str,
        path: str,
        *,
        kind: str = OTHER,
        cost: int = 1,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        sender: str | None = None,
    ) -> Response:
        """Send one request (through the limiter when there is one and ``portal`` is known).

        ``sender`` names who the request is made for (a simulation): the limiter shares the
        account's burst window fairly between senders.

        Raises:
            Throttled: the limiter refused (and the transport does not wait).
            CrmError: the classified failure.
        """
        session = self._session
        if session is None:
            raise RuntimeError(
                "HubSpotTransport is not started: use `async with HubSpotTransport(...)`"
            )
        waited = 0
        while True:
            async with self._in_flight:
                decision = await self._acquire(portal, kind, cost, sender)
                if decision is None or decision.allowed:
                    return await self._send(
                        session, token, portal, decision, kind, method, path, json, params
                    )
            reason = str(decision.reason)
            if not self._wait or waited + decision.wait_ms > self._max_wait_ms:
                raise Throttled(decision.wait_ms, reason)
            waited += decision.wait_ms
            await self._clock.sleep_ms(decision.wait_ms)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        token: SecretStr,
        portal: str | None,
        decision: Decision | None,
        kind: str,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
    ) -> Response:
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        data = None
        if json is not None:
            data = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            async with session.request(
                method, self.base_url + path, data=data, headers=headers, params=params
            ) as resp:
                raw = await resp.read()
                status, answer_headers = resp.status, resp.headers
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            lost = _network_error(exc)
            await self._report(portal, decision, kind, Outcome.FAILED)
            log.warning(
                "crm_request_failed", method=method, path=path, portal=portal, error=str(lost)
            )
            raise lost from None
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        usage = usage_from_headers(answer_headers)
        body = _json(raw)
        if 200 <= status < 300:
            await self._report(portal, decision, kind, Outcome.OK, usage=usage)
            log.debug("crm_request", method=method, path=path, status=status, ms=elapsed_ms)
            if raw and body is None:
                raise UnexpectedResponse(
                    "HubSpot answered with a body that is not JSON", status=status
                )
            return Response(status, body, answer_headers, usage)
        error = classify(status, body if isinstance(body, dict) else {}, answer_headers)
        await self._report_error(portal, decision, kind, error, usage)
        log.info(
            "crm_request_refused",
            method=method,
            path=path,
            portal=portal,
            status=status,
            category=str(error.category),
            ms=elapsed_ms,
        )
        raise error

    async def _acquire(
        self, portal: str | None, kind: str, cost: int, sender: str | None
    ) -> Decision | None:
        if self.limiter is None or portal is None:
            return None
        return await self.limiter.acquire(
            portal, kind, cost, now_ms=self._clock.now_ms(), sender=sender
        )

    async def _report(
        self,
        portal: str | None,
        decision: Decision | None,
        kind: str,
        outcome: Outcome,
        *,
        usage: Usage | None = None,
        policy: Policy | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        if self.limiter is None or portal is None or decision is None:
            return
        await self.limiter.report(
            portal,
            outcome,
            policy=policy,
            retry_after_ms=retry_after_ms,
            usage=usage,
            acquired_at_ms=decision.at_ms,
            kind=kind,
            now_ms=self._clock.now_ms(),
        )

    async def _report_error(
        self,
        portal: str | None,
        decision: Decision | None,
        kind: str,
        error: CrmError,
        usage: Usage | None,
    ) -> None:
        if isinstance(error, RateLimited):
            await self._report(
                portal,
                decision,
                kind,
                Outcome.RATE_LIMITED,
                usage=usage,
                policy=_POLICIES[error.policy],
                retry_after_ms=error.retry_after_ms,
            )
        elif isinstance(error, ServerError) and (error.status or 0) >= 500:
            await self._report(portal, decision, kind, Outcome.FAILED, usage=usage)
        else:
            await self._report(portal, decision, kind, Outcome.OK, usage=usage)


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _network_error(exc: BaseException) -> NetworkError:
    """A NetworkError describing ``exc`` without anything from the request (no headers)."""
    # Connecting failed or timed out: nothing reached HubSpot. Anything later may have.
    never_sent = isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        what = "no answer within the timeout"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        what = f"cannot connect to {exc.host}:{exc.port}"
    else:
        what = type(exc).__name__
        if isinstance(exc, OSError) and exc.strerror:
            what = f"{what}: {exc.strerror}"
        elif isinstance(exc, aiohttp.ServerDisconnectedError):
            what = "the server closed the connection without answering"
    return NetworkError(what, maybe_applied=not never_sent)
