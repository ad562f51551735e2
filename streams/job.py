"""A job as it travels through Redis: identifiers only, never content.

A job is ``(id, type, scope, data)`` plus its priority class and attempt bookkeeping. The producer
chooses ``id`` deterministically (e.g. ``"{sim}:contact:{index}"``) so enqueuing the same job twice
is harmless. ``scope`` decides the shard (``fnv1a_32(scope) % shards``) and groups dead letters;
``data`` is a small mapping of identifiers (strings and integers).

On the wire a job is one orjson array ``[id, type, scope, data, attempt, max_attempts, class]``
(``max_attempts`` 0 means "the type's policy"; ``class`` is ``"p"`` or ``"s"``), stored as the
single field ``j`` of a stream entry, which keeps a pending job small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson

from streams.errors import PayloadError
from streams.retry import MAX_ATTEMPTS

MAX_ID_CHARS = 200
MAX_DATA_BYTES = 2048

DataValue = str | int


class Priority(StrEnum):
    """Which ready stream a job waits in; the primary stream is always read first."""

    PRIMARY = "primary"
    SECONDARY = "secondary"

    @property
    def code(self) -> str:
        """The one-letter code used on the wire and in delayed-set members."""
        return "p" if self is Priority.PRIMARY else "s"


_BY_CODE = {"p": Priority.PRIMARY, "s": Priority.SECONDARY}


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of work. ``attempt`` is 1 for the first run; ``max_attempts=None`` means the
    type's retry policy decides (a replay with one attempt sets it to 1)."""

    id: str
    type: str
    scope: str
    data: Mapping[str, DataValue] = field(default_factory=dict)
    priority: Priority = Priority.PRIMARY
    attempt: int = 1
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("id", self.id), ("type", self.type), ("scope", self.scope)):
            if (
                value.__class__ is not str
                or not 0 < len(value) <= MAX_ID_CHARS
                or not value.isprintable()
            ):
                raise PayloadError(
                    f"job {name} must be a string of 1 to {MAX_ID_CHARS} printable characters"
                )
        if self.attempt.__class__ is not int or self.attempt < 1:
            raise PayloadError("job attempt must be an integer >= 1")
        if self.max_attempts is not None and not 1 <= self.max_attempts <= MAX_ATTEMPTS:
            raise PayloadError(f"job max_attempts must be None or from 1 to {MAX_ATTEMPTS}")

    def encode(self) -> bytes:
        """The wire form (see the module docstring)."""
        try:
            raw = orjson.dumps(
                [
                    self.id,
                    self.type,
                    self.scope,
                    self.data,
                    self.attempt,
                    self.max_attempts or 0,
                    self.priority.code,
                ]
            )
        except TypeError as exc:
            raise PayloadError(f"job data must map strings to strings or integers: {exc}") from None
        if len(raw) > MAX_DATA_BYTES + 4 * MAX_ID_CHARS:
            raise PayloadError(f"job data must encode to at most {MAX_DATA_BYTES} bytes")
        return raw

    def next_attempt(self) -> Job:
        """This job as its next attempt."""
        return replace(self, attempt=self.attempt + 1)


def delayed_member(priority: Priority, payload: bytes | str) -> bytes:
    """How the delayed set names a job: its class code, then its wire form (``payload``)."""
    return priority.code.encode() + (payload if isinstance(payload, bytes) else payload.encode())


def decode_job(raw: bytes | str) -> Job:
    """The job encoded by :meth:`Job.encode`; :class:`PayloadError` when it is not one."""
    try:
        item: Any = orjson.loads(raw)
        job_id, job_type, scope, data, attempt, max_attempts, code = item
        return Job(
            job_id,
            job_type,
            scope,
            data,
            _BY_CODE[code],
            attempt,
            max_attempts or None,
        )
    except PayloadError:
        raise
    except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
        raise PayloadError(f"not a job payload: {exc}") from None


def log_fields(jobs: Sequence[Job]) -> dict[str, object]:
    """What identifies ``jobs`` in a log line: ``job_id`` for one job, ``job_ids`` for several
    (bound with ``structlog.contextvars`` around the work done for them)."""
    if len(jobs) == 1:
        return {"job_id": jobs[0].id}
    return {"job_ids": [job.id for job in jobs]}
