"""Errors raised by the store.

StoreError
├── NotFound             a row asked for by id does not exist
├── DuplicateEmail       a user with that email exists already
├── IllegalTransition    a simulation status change that SPEC §3 does not allow
├── SchemaOutOfDate      the database was not migrated to this version (run `simcrm migrate`)
└── TokenDecryptError    a stored token cannot be decrypted: wrong key, unknown key id, tampering
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises."""


class NotFound(StoreError):
    """The row does not exist (or is not visible to the caller)."""


class DuplicateEmail(StoreError):
    """A user with this email exists already."""


class IllegalTransition(StoreError):
    """The simulation cannot move from its current status to the one asked for."""

    def __init__(self, simulation_id: int, current: str, target: str) -> None:
        super().__init__(f"simulation {simulation_id} is {current}; it cannot become {target}")
        self.simulation_id = simulation_id
        self.current = current
        self.target = target


class SchemaOutOfDate(StoreError):
    """The database schema is missing or older than this code; `simcrm migrate` fixes it."""


class TokenDecryptError(StoreError):
    """A ciphertext failed authentication or its key is not configured. The token is unusable."""
