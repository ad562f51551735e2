"""How often each job type is tried, and how long it waits between tries (:class:`RetryPolicy`).

Two namings are read. For the primary types (contacts, companies, deals) the new name wins over
the legacy one (``CONTACT_ATTEMPTS`` over ``ATTEMPTS_CONTACT``, ``CONTACT_BACKOFF_MS`` over
``BACKOFF_CONTACT``), and unset they are tried 3 times, waiting ``0,2000,8000`` ms. Each
secondary type (note, call, task, ticket) reads ``NOTE_ATTEMPTS`` then ``ATTEMPTS_NOTE`` (and
likewise for backoff); when neither is set it inherits ``ATTEMPTS_SECONDARY`` /
``BACKOFF_SECONDARY`` (2 tries, ``0,3000``), as does every job type not named here. A legacy
value is not checked when the new name is set, so a stale one cannot stop start-up.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_settings import NoDecode

from engine.settings import parsers
from engine.settings.section import Section, variable
from limits.config import OBJECT_KINDS, PRIMARY_KINDS
from streams.retry import MAX_ATTEMPTS, RetryPolicy

PRIMARY_POLICY = RetryPolicy(attempts=3, backoff_ms=(0, 2000, 8000))
SECONDARY_POLICY = RetryPolicy(attempts=2, backoff_ms=(0, 3000))
SECONDARY_KINDS = tuple(kind for kind in OBJECT_KINDS if kind not in PRIMARY_KINDS)

Attempts = Annotated[int | None, parsers.between(1, MAX_ATTEMPTS)]
Backoff = Annotated[
    tuple[int, ...] | None,
    NoDecode,
    BeforeValidator(
        parsers.number_list(int, "a comma-separated list of milliseconds, e.g. 0,2000,8000")
    ),
]


def _attempts(kind: str) -> Any:
    return variable(f"{kind.upper()}_ATTEMPTS", f"ATTEMPTS_{kind.upper()}")


def _backoff(kind: str) -> Any:
    return variable(f"{kind.upper()}_BACKOFF_MS", f"BACKOFF_{kind.upper()}")


class RetrySettings(Section):
    """Attempts and backoff per object type; None means "not set" (see :meth:`policy`)."""

    contact_attempts: Attempts = _attempts("contact")
    contact_backoff_ms: Backoff = _backoff("contact")
    company_attempts: Attempts = _attempts("company")
    company_backoff_ms: Backoff = _backoff("company")
    deal_attempts: Attempts = _attempts("deal")
    deal_backoff_ms: Backoff = _backoff("deal")
    secondary_attempts: Annotated[int, parsers.between(1, MAX_ATTEMPTS)] = variable(
        "ATTEMPTS_SECONDARY", default=SECONDARY_POLICY.attempts
    )
    secondary_backoff_ms: Annotated[
        tuple[int, ...],
        NoDecode,
        BeforeValidator(
            parsers.number_list(int, "a comma-separated list of milliseconds, e.g. 0,3000")
        ),
    ] = variable("BACKOFF_SECONDARY", default=SECONDARY_POLICY.backoff_ms)
    note_attempts: Attempts = _attempts("note")
    note_backoff_ms: Backoff = _backoff("note")
    call_attempts: Attempts = _attempts("call")
    call_backoff_ms: Backoff = _backoff("call")
    task_attempts: Attempts = _attempts("task")
    task_backoff_ms: Backoff = _backoff("task")
    ticket_attempts: Attempts = _attempts("ticket")
    ticket_backoff_ms: Backoff = _backoff("ticket")

    def policy(self, job_type: str) -> RetryPolicy:
        """Attempts and backoff for ``job_type`` after the naming and inheritance rules; a type
        without variables of its own gets :attr:`default_policy`."""
        attempts: int | None = getattr(self, f"{job_type}_attempts", None)
        backoff: tuple[int, ...] | None = getattr(self, f"{job_type}_backoff_ms", None)
        base = PRIMARY_POLICY if job_type in PRIMARY_KINDS else self.default_policy
        return RetryPolicy(attempts or base.attempts, backoff or base.backoff_ms)

    @property
    def default_policy(self) -> RetryPolicy:
        """The secondary policy: ATTEMPTS_SECONDARY and BACKOFF_SECONDARY."""
        return RetryPolicy(self.secondary_attempts, self.secondary_backoff_ms)

    def policies(self) -> dict[str, RetryPolicy]:
        """The policy of every object type, by type."""
        return {kind: self.policy(kind) for kind in OBJECT_KINDS}
