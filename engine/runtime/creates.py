"""Creating a record's companies, deals, notes, calls, tasks and tickets, idempotently.

* A job whose object is already recorded in ``{s<id>}:ids`` is done without a call.
* Each object is associated with its record's contact, and a deal with its company; a deal whose
  company is not recorded yet waits for it (deferred, no attempt spent) while the company's job is
  live in the queue, and goes without it when the company will not exist (not planned, over
  budget, or dead-lettered — by the runtime or by the queue itself).
* Companies, deals and tickets carry a unique ``simcrm_key``: a create refused as a duplicate of
  it is resolved by reading the object back.
* Notes, calls and tasks cannot have a unique property: before a create is sent, its jobs are
  marked *uncertain*; the mark is cleared once the outcome is known. A job that finds its own mark
  (its worker died, or a network error hid the outcome) searches for its ``simcrm_key`` first —
  after waiting out the search index's lag — and creates only when nothing is found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from engine.crm import (
    SIMCRM_KEY,
    Association,
    BatchResult,
    CrmError,
    ErrorCategory,
    ItemResult,
    NetworkError,
    ObjectInput,
    ObjectType,
    Throttled,
)
from engine.model import WRITES, ActivityType, object_key
from engine.runtime.context import WAIT_FOR_PARENT_MS, HandlerContext, recorded_id
from engine.runtime.jobs import CONTACT, activity_of, index_of
from engine.runtime.outcomes import Tally
from engine.runtime.registry import Known
from engine.simulations import Target
from streams import Job, Outcome

log = structlog.get_logger()

UNIQUE_KEY_TYPES = frozenset({ObjectType.COMPANY, ObjectType.DEAL, ObjectType.TICKET})


@dataclass(slots=True)
class _Batch:
    """One call's worth of jobs of one type and simulation, and what is known about them."""

    known: Known
    target: Target
    kind: ActivityType
    jobs: Sequence[Job]
    tally: Tally
    outcomes: dict[int, Outcome]

    @property
    def object_type(self) -> ObjectType:
        return WRITES[self.kind].object_type

    @property
    def marked(self) -> bool:
        """Whether sends are marked uncertain (types without a unique key)."""
        return self.object_type not in UNIQUE_KEY_TYPES


class ActivityCreates:
    def __init__(self, context: HandlerContext) -> None:
        self._ctx = context

    async def send(
        self, kind: ActivityType, known: Known, target: Target, jobs: Sequence[Job], tally: Tally
    ) -> list[Outcome]:
        batch = _Batch(known, target, kind, jobs, tally, {})
        try:
            await self._send(batch)
        except (CrmError, Throttled) as exc:
            for position, job in enumerate(jobs):
                if position not in batch.outcomes:
                    batch.outcomes[position] = self._ctx.outcomes.of_error(job, tally, exc)
        return [batch.outcomes[position] for position in range(len(jobs))]

    async def _send(self, batch: _Batch) -> None:
        await batch.target.portal.ensure_simcrm_properties(batch.object_type)
        outcomes, jobs, tally = batch.outcomes, batch.jobs, batch.tally
        parents = [
            _parent_keys(batch.known.id, index_of(job), WRITES[batch.kind].associate_with)
            for job in jobs
        ]
        wanted = sorted({key for keys in parents for key in keys.values()})
        job_ids = [job.id for job in jobs]
        pipe = self._ctx.redis.pipeline(transaction=False)
        pipe.hmget(batch.known.keys.ids, [*job_ids, *wanted])
        pipe.hmget(batch.known.keys.uncertain, job_ids)
        recorded, marks = await pipe.execute()
        parent_raw = dict(zip(wanted, recorded[len(jobs) :], strict=True))
        unrecorded = [key for key, raw in parent_raw.items() if raw is None]
        live = await self._ctx.queue.live_ids(str(batch.known.id), unrecorded)
        uncertain: list[int] = []
        to_send: list[int] = []
        for position, job in enumerate(jobs):
            waiting_for = _missing_parent(parents[position], parent_raw, live)
            if recorded_id(recorded[position]) is not None:
                outcomes[position] = self._ctx.outcomes.done(job, tally)
            elif waiting_for is ObjectType.CONTACT:
                outcomes[position] = self._ctx.outcomes.failed(
                    job, tally, ErrorCategory.NOT_FOUND, "the record's contact has no recorded id",
                    retryable=True, after_ms=WAIT_FOR_PARENT_MS,
                )  # fmt: skip
            elif waiting_for is not None:
                outcomes[position] = self._ctx.outcomes.defer(WAIT_FOR_PARENT_MS)
            elif marks[position] is not None and batch.marked:
                uncertain.append(position)
            else:
                to_send.append(position)
        if uncertain:
            to_send += await self._resolve_uncertain(batch, uncertain, marks)
        if to_send:
            await self._create(batch, to_send, parents, parent_raw)

    async def _resolve_uncertain(
        self, batch: _Batch, positions: Sequence[int], marks: Sequence[Any]
    ) -> list[int]:
        """Settle jobs whose earlier create may have gone through; returns those to create."""
        now = self._ctx.clock.now_ms()
        to_search: list[int] = []
        for position in positions:
            age = now - int(marks[position])
            if age < self._ctx.search_lag_ms:
                batch.outcomes[position] = self._ctx.outcomes.defer(self._ctx.search_lag_ms - age)
            else:
                to_search.append(position)
        if not to_search:
            return []
        keys = [batch.jobs[p].id for p in to_search]
        found = await batch.target.portal.find_by_key(batch.object_type, keys)
        recorded: dict[str, str] = {}
        to_send: list[int] = []
        for position in to_search:
            job = batch.jobs[position]
            matches = found.get(job.id) or []
            if matches:
                recorded[job.id] = matches[0].id
                batch.outcomes[position] = self._ctx.outcomes.done(job, batch.tally)
            else:
                to_send.append(position)
        if recorded:
            await self._ctx.record(batch.known.keys, batch.kind.value, recorded)
            await self._ctx.redis.hdel(batch.known.keys.uncertain, *recorded)
            log.info("uncertain_creates_found", count=len(recorded))
        return to_send

    async def _create(
        self,
        batch: _Batch,
        positions: Sequence[int],
        parents: Sequence[Mapping[ObjectType, str]],
        parent_raw: Mapping[str, Any],
    ) -> None:
        """Send one batch create for ``positions`` and settle each from its item."""
        known, jobs, ctx = batch.known, batch.jobs, self._ctx
        payloads = [
            (
                known.model.activity_properties(index_of(jobs[p]), activity_of(jobs[p])),
                [
                    Association(to_type, object_id)
                    for to_type, key in parents[p].items()
                    if (object_id := recorded_id(parent_raw.get(key))) is not None
                ],
            )
            for p in positions
        ]

        def build(subset: Sequence[int], strip: bool) -> list[ObjectInput]:
            return [
                ObjectInput(ctx.createdate.apply(payloads[i][0], strip), payloads[i][1])
                for i in subset
            ]

        async def post(inputs: Sequence[ObjectInput]) -> BatchResult:
            return await batch.target.portal.batch_create(batch.object_type, inputs)

        job_ids = [jobs[p].id for p in positions]
        if batch.marked:
            marks = dict.fromkeys(job_ids, ctx.clock.now_ms())
            await ctx.redis.hset(known.keys.uncertain, mapping=marks)
        try:
            items = await ctx.createdate.send(batch.target.portal_id, build, post, len(positions))
        except (CrmError, Throttled) as exc:
            maybe_applied = isinstance(exc, NetworkError) and exc.maybe_applied
            if batch.marked and not maybe_applied:
                await ctx.redis.hdel(known.keys.uncertain, *job_ids)
            raise
        recorded, duplicates = self._settle_items(batch, positions, items)
        # Record what was created before anything else can fail: a job settled as done must
        # have its object's id recorded, or what depends on it would wait for it in vain.
        await ctx.record(known.keys, batch.kind.value, recorded)
        if batch.marked:
            await ctx.redis.hdel(known.keys.uncertain, *job_ids)
        if duplicates:
            found = await self._read_back(batch, duplicates)
            await ctx.record(known.keys, batch.kind.value, found)

    def _settle_items(
        self, batch: _Batch, positions: Sequence[int], items: Sequence[ItemResult]
    ) -> tuple[dict[str, str], list[int]]:
        """Outcomes from a create's items: the ids created, and the inputs refused as
        duplicates of their unique key (to be read back)."""
        recorded: dict[str, str] = {}
        duplicates: list[int] = []
        for position, item in zip(positions, items, strict=True):
            job = batch.jobs[position]
            if item.ok and item.id is not None:
                recorded[job.id] = item.id
                batch.outcomes[position] = self._ctx.outcomes.done(job, batch.tally)
            elif item.category is ErrorCategory.CONFLICT and not batch.marked:
                duplicates.append(position)
            else:
                batch.outcomes[position] = self._ctx.outcomes.of_item(job, batch.tally, item)
        return recorded, duplicates

    async def _read_back(self, batch: _Batch, positions: Sequence[int]) -> dict[str, str]:
        """Objects refused as duplicates of their unique ``simcrm_key`` exist: read their ids."""
        found = await batch.target.portal.batch_read(
            batch.object_type, [batch.jobs[p].id for p in positions], id_property=SIMCRM_KEY
        )
        recorded: dict[str, str] = {}
        for position in positions:
            job = batch.jobs[position]
            obj = found.found.get(job.id)
            if obj is not None:
                recorded[job.id] = obj.id
                batch.outcomes[position] = self._ctx.outcomes.done(job, batch.tally)
            else:
                message = "refused as a duplicate, yet no object carries its key"
                batch.outcomes[position] = self._ctx.outcomes.failed(
                    job, batch.tally, ErrorCategory.CONFLICT, message, retryable=True
                )
        return recorded


def _parent_keys(
    sim_id: int, index: int, associate_with: Sequence[ObjectType]
) -> dict[ObjectType, str]:
    """The object keys of the records a new object is associated with."""
    keys: dict[ObjectType, str] = {}
    for target_type in associate_with:
        if target_type is ObjectType.CONTACT:
            keys[target_type] = object_key(sim_id, CONTACT, index)
        elif target_type is ObjectType.COMPANY:
            keys[target_type] = object_key(sim_id, ActivityType.COMPANY.value, index, 0)
    return keys


def _missing_parent(
    parents: Mapping[ObjectType, str], recorded: Mapping[str, Any], live: set[str]
) -> ObjectType | None:
    """The first parent to wait for: not recorded yet, while its job is still live (a parent
    that is neither recorded nor live will not exist, and is left out). A record's contact is
    always recorded before its activities are planned, so a missing contact is reported."""
    for to_type, key in parents.items():
        if recorded.get(key) is None and (to_type is ObjectType.CONTACT or key in live):
            return to_type
    return None
