"""Errors of the CRM client: one class per failure category (:class:`ErrorCategory`).

Hierarchy::

    CrmError                    a call failed; .category, .status, .retryable, .correlation_id,
                                .retry_after_ms (Retry-After, or 2 s for a 423 lock)
    ├── RateLimited             429 (category rate_limit): .policy, .retry_after_ms
    ├── AuthFailed              401, 403 (auth)
    ├── ValidationFailed        400 and other refusals of the input (validation)
    │   └── BatchTooLarge       more than 100 inputs, refused before anything is sent
    ├── Conflict                409 (conflict): .existing_id when HubSpot names the object
    ├── NotFound                404 (not_found)
    ├── ServerError             423, 5xx, 52x (server)
    ├── NetworkError            connection refused or lost, timeout (network)
    ├── UnexpectedResponse      anything else (unknown)
    └── UnusableProperty        the account has a property SimCRM needs, defined otherwise
                                (a ``simcrm_key`` that is not unique); .object_type, .name

    Every CrmError has .maybe_applied: True when the request may have been applied although
    its answer was lost (a timeout or a connection lost after sending, any 5xx or 524 — a
    gateway can fail after HubSpot committed the write). A create must then be looked up
    before it is sent again.

    Throttled                   not a failure: the limiter refused to send (.wait_ms, .reason);
                                try again after the wait, without counting an attempt

Messages come from HubSpot's body (or describe the network failure); they never hold the token.
The runtime turns a failure into a queue outcome carrying its category's value, so these values
are also the dead-letter categories SPEC §4 lists for CRM failures.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCategory(StrEnum):
    """Why a CRM call (or one item of a batch call) failed."""

    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    VALIDATION = "validation"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    SERVER = "server"
    NETWORK = "network"
    UNKNOWN = "unknown"


class RateLimitPolicy(StrEnum):
    """Which HubSpot limit a 429 names (``policyName``, or the search limit's message)."""

    TEN_SECONDLY_ROLLING = "TEN_SECONDLY_ROLLING"
    DAILY = "DAILY"
    SECONDLY = "SECONDLY"  # the search endpoints' limit, or the legacy per-second one
    UNKNOWN = "UNKNOWN"


class CrmError(Exception):
    """A CRM call failed. ``retryable`` says whether sending it again can succeed."""

    category = ErrorCategory.UNKNOWN
    retryable = False
    maybe_applied = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
        retryable: bool | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.correlation_id = correlation_id
        self.retry_after_ms = retry_after_ms  # what HubSpot asked us to wait, when it said
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        status = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{status}{self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class RateLimited(CrmError):
    category = ErrorCategory.RATE_LIMIT
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        policy: RateLimitPolicy,
        retry_after_ms: int | None = None,
        status: int | None = 429,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, correlation_id=correlation_id, retry_after_ms=retry_after_ms
        )
        self.policy = policy


class AuthFailed(CrmError):
    category = ErrorCategory.AUTH


class ValidationFailed(CrmError):
    category = ErrorCategory.VALIDATION


class BatchTooLarge(ValidationFailed):
    """More inputs than one batch call takes; raised before the request is sent."""


class Conflict(CrmError):
    category = ErrorCategory.CONFLICT

    def __init__(
        self,
        message: str,
        *,
        existing_id: str | None = None,
        status: int | None = 409,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.existing_id = existing_id


class NotFound(CrmError):
    category = ErrorCategory.NOT_FOUND


class ServerError(CrmError):
    """423 (a lock: nothing was applied) or a 5xx/52x answer (the write may have been applied
    before the gateway gave up, so ``maybe_applied``)."""

    category = ErrorCategory.SERVER
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
        retryable: bool | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            correlation_id=correlation_id,
            retryable=retryable,
            retry_after_ms=retry_after_ms,
        )
        self.maybe_applied = status is None or status >= 500


class NetworkError(CrmError):
    """No answer. ``maybe_applied`` is True when the request may have reached HubSpot (a
    timeout or a connection lost after sending): a create must then be resolved before it is
    sent again (SPEC §6, idempotent creates)."""

    category = ErrorCategory.NETWORK
    retryable = True

    def __init__(self, message: str, *, maybe_applied: bool) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


class UnexpectedResponse(CrmError):
    category = ErrorCategory.UNKNOWN


class UnusableProperty(CrmError):
    """A property SimCRM relies on exists in the account with another definition (say
    ``simcrm_key`` without a unique value, where duplicates could then go unnoticed). SimCRM
    never redefines a user's property: it must be deleted, or the account not used."""

    category = ErrorCategory.VALIDATION

    def __init__(self, message: str, *, object_type: str, name: str) -> None:
        super().__init__(message)
        self.object_type = object_type
        self.name = name


class Throttled(Exception):
    """The limiter refused to send now; try again after ``wait_ms`` (``reason`` says why)."""

    def __init__(self, wait_ms: int, reason: str) -> None:
        super().__init__(f"rate limiter: wait {wait_ms} ms ({reason})")
        self.wait_ms = wait_ms
        self.reason = reason
