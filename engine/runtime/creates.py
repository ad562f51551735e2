"""Creating objects — contacts, companies, deals, notes, calls, tasks, tickets — exactly once.

HubSpot has no idempotency key, so every create follows the same rules:

* A job whose object is already recorded in ``{s<id>}:ids`` is done without a call.
* Each activity is associated with its record's contact, and a deal with its company; a deal
  whose company is not recorded yet waits for it (deferred, no attempt spent) while the company's
  job is live in the queue, and goes without it when the company will not exist (not planned,
  over budget, or dead-lettered — by the runtime or by the queue itself). A deal is normally
  parked until then (:mod:`.release`): a recorded company or deal hastens its children.
* Before a create is sent, its jobs are marked *in flight* in ``{s<id>}:uncertain``. When the
  answer is lost — a timeout, a connection lost after sending, any 5xx or 524, or a 2xx that says
  nothing about an input — the mark is stamped with the moment the loss was *seen*, and the job
  comes back once the search lag (HUBSPOT_SEARCH_LAG_MS) has passed since then, without spending
  an attempt. A job that finds an in-flight mark (its worker died mid-send) stamps it the same
  way. A stamped job is first looked up — by email for contacts, by its unique ``simcrm_key``
  for companies, deals and tickets, by searching ``simcrm_key`` for notes, calls and tasks —
  and only a look-up that finds nothing licenses creating it again.
* Contacts, companies, deals and tickets have a unique key HubSpot enforces: any refusal of
  their create — whatever its wording — is resolved by reading the object back by that key.
  Found, it is recorded and the job done; the inputs of a refused batch that were not found are
  sent once more at once, without the ones that exist.
* A contact is created, never upserted: an existing contact is recorded as it is, so a
  replayed create cannot move its lifecycle stage back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from engine.crm import (
    Association,
    BatchResult,
    Conflict,
    CrmError,
    ErrorCategory,
    ItemResult,
    ObjectInput,
    ObjectType,
    Throttled,
    UnusableProperty,
    ValidationFailed,
)
from engine.crm.objects import SIMCRM_KEY, key_property
from engine.model import WRITES, ActivityType, object_key
from engine.runtime.context import WAIT_FOR_PARENT_MS, HandlerContext, as_text, recorded_id
from engine.runtime.jobs import CONTACT, activity_of, index_of
from engine.runtime.outcomes import Tally
from engine.runtime.registry import Known
from engine.runtime.release import release
from engine.simulations import Target
from streams import Job, Outcome

log = structlog.get_logger()

IN_FLIGHT = "sent:"  # prefix of a mark whose create has not been answered yet
OnRecorded = Callable[[Known, Sequence[Job]], Awaitable[None]]


def parse_mark(raw: Any) -> tuple[bool, int]:
    """An uncertain mark: whether its create is still in flight, and the moment in ms (sent
    at, for an in-flight mark; the loss was seen at, otherwise)."""
    text = as_text(raw)
    in_flight = text.startswith(IN_FLIGHT)
    return in_flight, int(text.removeprefix(IN_FLIGHT))


@dataclass(slots=True)
class _Batch:
    """One call's worth of jobs of one type and simulation, and what is known about them."""

    known: Known
    target: Target
    job_type: str
    jobs: Sequence[Job]
    tally: Tally
    outcomes: dict[int, Outcome]
    recorded: list[int] = field(default_factory=list)  # positions done with their id recorded

    @property
    def object_type(self) -> ObjectType:
        if self.job_type == CONTACT:
            return ObjectType.CONTACT
        return WRITES[ActivityType(self.job_type)].object_type

    @property
    def unique(self) -> bool:
        """Whether HubSpot enforces the key (contacts' email, a unique ``simcrm_key``)."""
        return key_property(self.object_type) is not None

    def properties(self, position: int) -> Mapping[str, str]:
        job = self.jobs[position]
        model = self.known.model
        if self.job_type == CONTACT:
            return model.contact(index_of(job))
        return model.activity_properties(index_of(job), activity_of(job))

    def lookup_value(self, position: int) -> str:
        """What the object is found by: the contact's email, else its ``simcrm_key``."""
        if self.object_type is ObjectType.CONTACT:
            return self.properties(position)["email"]
        return self.jobs[position].id


class Creates:
    """Creates the objects of create jobs (see the module docstring); ``on_recorded`` hears of
    contact jobs whose contact is recorded (done), so their records' activities get planned."""

    def __init__(self, context: HandlerContext, *, on_recorded: OnRecorded | None = None) -> None:
        self._ctx = context
        self._on_recorded = on_recorded

    async def send(
        self, job_type: str, known: Known, target: Target, jobs: Sequence[Job], tally: Tally
    ) -> list[Outcome]:
        batch = _Batch(known, target, job_type, jobs, tally, {})
        try:
            await self._send(batch)
        except UnusableProperty:
            raise  # the account cannot take the simulation: it fails (see handlers)
        except (CrmError, Throttled) as exc:
            if isinstance(exc, Throttled) and not batch.outcomes:
                raise  # nothing settled yet: the handlers hold the whole batch, or defer it
            for position, job in enumerate(jobs):
                if position not in batch.outcomes:
                    batch.outcomes[position] = self._ctx.outcomes.of_error(job, tally, exc)
        # Also after a failure midway: contacts recorded before it must get their plans, and
        # objects recorded before it their parked children — before any of them is settled.
        recorded = [jobs[p] for p in sorted(batch.recorded)]
        if recorded and job_type != CONTACT:
            await release(self._ctx.queue, known, recorded)
        elif recorded and self._on_recorded is not None:
            await self._on_recorded(known, recorded)
        return [batch.outcomes[position] for position in range(len(jobs))]

    async def _send(self, batch: _Batch) -> None:
        """Settle every job of ``batch``."""
        await batch.target.portal.ensure_simcrm_properties(batch.object_type)
        jobs, tally, ctx = batch.jobs, batch.tally, self._ctx
        parents = [self._parents(batch, job) for job in jobs]
        wanted = sorted({key for keys in parents for key in keys.values()})
        job_ids = [job.id for job in jobs]
        pipe = ctx.redis.pipeline(transaction=False)
        pipe.hmget(batch.known.keys.ids, [*job_ids, *wanted])
        pipe.hmget(batch.known.keys.uncertain, job_ids)
        recorded, marks = await pipe.execute()
        parent_raw = dict(zip(wanted, recorded[len(jobs) :], strict=True))
        unrecorded = [key for key, raw in parent_raw.items() if raw is None]
        live = await ctx.queue.live_ids(str(batch.known.id), unrecorded)
        uncertain: list[int] = []
        to_send: list[int] = []
        for position, job in enumerate(jobs):
            waiting_for = _missing_parent(parents[position], parent_raw, live)
            if recorded_id(recorded[position]) is not None:
                batch.outcomes[position] = ctx.outcomes.done(job, tally)
                batch.recorded.append(position)
            elif waiting_for is ObjectType.CONTACT:
                batch.outcomes[position] = ctx.outcomes.failed(
                    job, tally, ErrorCategory.NOT_FOUND, "the record's contact has no recorded id",
                    retryable=True, after_ms=WAIT_FOR_PARENT_MS,
                )  # fmt: skip
            elif waiting_for is not None:
                batch.outcomes[position] = ctx.outcomes.defer(WAIT_FOR_PARENT_MS)
            elif marks[position] is not None:
                uncertain.append(position)
            else:
                to_send.append(position)
        if uncertain:
            to_send += await self._resolve_uncertain(batch, uncertain, marks)
        if to_send:
            await self._create(batch, to_send, parents, parent_raw, again=True)

    @staticmethod
    def _parents(batch: _Batch, job: Job) -> dict[ObjectType, str]:
        if batch.job_type == CONTACT:
            return {}
        write = WRITES[ActivityType(batch.job_type)]
        return _parent_keys(batch.known.id, index_of(job), write.associate_with)

    async def _resolve_uncertain(
        self, batch: _Batch, positions: Sequence[int], marks: Sequence[Any]
    ) -> list[int]:
        """Settle jobs whose earlier create may have gone through: those found are recorded;
        returns those certainly absent, to create again. The rest wait out the search lag."""
        ctx = self._ctx
        now = ctx.clock.now_ms()
        lag = ctx.search_lag_ms
        seen: dict[str, int] = {}
        to_look_up: list[int] = []
        for position in positions:
            job = batch.jobs[position]
            in_flight, at_ms = parse_mark(marks[position])
            if in_flight:  # sent by a run that never heard back: the loss is seen now
                seen[job.id] = now
                batch.outcomes[position] = ctx.outcomes.unanswered(job, batch.tally, lag)
            elif now - at_ms < lag:
                batch.outcomes[position] = ctx.outcomes.defer(lag - (now - at_ms))
            else:
                to_look_up.append(position)
        if seen:
            await ctx.redis.hset(batch.known.keys.uncertain, mapping=seen)
        if not to_look_up:
            return []
        found = await self._record_found(batch, to_look_up)
        if found:
            log.info("uncertain_creates_found", count=len(found))
        return [p for p in to_look_up if p not in found]

    async def _look_up(self, batch: _Batch, positions: Sequence[int]) -> dict[int, str]:
        """The CRM ids of the objects of ``positions`` that exist, by position."""
        portal = batch.target.portal
        values = {batch.lookup_value(p): p for p in positions}
        unique = key_property(batch.object_type)
        found: dict[int, str] = {}
        if unique is not None:
            read = await portal.batch_read(batch.object_type, list(values), id_property=unique)
            for value, obj in read.found.items():
                found[values[value]] = obj.id
            return found
        matches = await portal.search_by_property(batch.object_type, SIMCRM_KEY, list(values))
        for value, objects in matches.items():
            if objects:
                if len(objects) > 1:
                    log.warning("duplicate_objects_found", key=value, count=len(objects))
                found[values[value]] = min(objects, key=lambda o: int(o.id)).id
        return found

    async def _record_found(self, batch: _Batch, positions: Sequence[int]) -> list[int]:
        """Look the objects of ``positions`` up; record and settle as done those that exist."""
        found = await self._look_up(batch, positions)
        if not found:
            return []
        ids = {batch.jobs[p].id: crm_id for p, crm_id in found.items()}
        await self._ctx.record(batch.known.keys, batch.job_type, ids)
        await self._ctx.redis.hdel(batch.known.keys.uncertain, *ids)
        for position in found:
            batch.outcomes[position] = self._ctx.outcomes.done(batch.jobs[position], batch.tally)
        batch.recorded += found
        return list(found)

    async def _create(
        self,
        batch: _Batch,
        positions: Sequence[int],
        parents: Sequence[Mapping[ObjectType, str]],
        parent_raw: Mapping[str, Any],
        *,
        again: bool,
    ) -> None:
        """Send one batch create for ``positions`` and settle each. ``again``: a refused batch
        whose existing objects are found is sent once more, without them."""
        known, jobs, ctx = batch.known, batch.jobs, self._ctx
        payloads = [
            (
                batch.properties(p),
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
        sent = f"{IN_FLIGHT}{ctx.clock.now_ms()}"
        await ctx.redis.hset(known.keys.uncertain, mapping=dict.fromkeys(job_ids, sent))
        try:
            items = await ctx.createdate.send(batch.target.portal_id, build, post, len(positions))
        except (CrmError, Throttled) as exc:
            if isinstance(exc, CrmError) and exc.maybe_applied:
                await self._unanswered(batch, positions)
                log.info("create_unanswered", sim_id=known.id, jobs=len(positions), error=str(exc))
                return
            await ctx.redis.hdel(known.keys.uncertain, *job_ids)
            if batch.unique and isinstance(exc, ValidationFailed | Conflict):
                await self._refused(batch, positions, parents, parent_raw, again, exc)
                return
            raise
        await self._settle_items(batch, positions, items)

    async def _unanswered(self, batch: _Batch, positions: Sequence[int]) -> None:
        """The creates of ``positions`` may have been applied: stamp their marks now, and have
        their jobs come back for a look-up once the search lag has passed."""
        now = self._ctx.clock.now_ms()
        marks = {batch.jobs[p].id: now for p in positions}
        await self._ctx.redis.hset(batch.known.keys.uncertain, mapping=marks)
        for position in positions:
            job = batch.jobs[position]
            batch.outcomes[position] = self._ctx.outcomes.unanswered(
                job, batch.tally, self._ctx.search_lag_ms
            )

    async def _refused(
        self,
        batch: _Batch,
        positions: Sequence[int],
        parents: Sequence[Mapping[ObjectType, str]],
        parent_raw: Mapping[str, Any],
        again: bool,
        error: CrmError,
    ) -> None:
        """A whole batch create of unique-key objects was refused: read them back by key. When
        some exist (the likely reason), the others are sent once more without them."""
        found = await self._record_found(batch, positions)
        rest = [p for p in positions if p not in found]
        if found and rest and again:
            await self._create(batch, rest, parents, parent_raw, again=False)
            return
        for position in rest:
            job = batch.jobs[position]
            batch.outcomes[position] = self._ctx.outcomes.of_error(job, batch.tally, error)

    async def _settle_items(
        self, batch: _Batch, positions: Sequence[int], items: Sequence[ItemResult]
    ) -> None:
        """Outcomes from a create's items. Created objects are recorded before anything else can
        fail: a job settled as done must have its object's id recorded, or what depends on it
        would wait for it in vain. Refused unique-key objects are read back by key."""
        ctx, jobs = self._ctx, batch.jobs
        recorded: dict[str, str] = {}
        done: list[int] = []
        refused: dict[int, ItemResult] = {}
        unanswered: list[int] = []
        for position, item in zip(positions, items, strict=True):
            job = jobs[position]
            if item.ok and item.id is not None:
                recorded[job.id] = item.id
                done.append(position)
                batch.outcomes[position] = ctx.outcomes.done(job, batch.tally)
            elif item.maybe_applied:
                unanswered.append(position)
            elif batch.unique:
                refused[position] = item
            else:
                batch.outcomes[position] = ctx.outcomes.of_item(job, batch.tally, item)
        await ctx.record(batch.known.keys, batch.job_type, recorded)
        batch.recorded += done
        settled = [jobs[p].id for p in positions if p not in unanswered]
        if settled:
            await ctx.redis.hdel(batch.known.keys.uncertain, *settled)
        if unanswered:
            await self._unanswered(batch, unanswered)
        if refused:
            found = await self._record_found(batch, list(refused))
            for position, item in refused.items():
                if position not in found:
                    job = jobs[position]
                    batch.outcomes[position] = ctx.outcomes.of_item(job, batch.tally, item)


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
