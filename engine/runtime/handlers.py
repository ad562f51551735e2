"""The job handlers: every ready job of one type and one simulation goes out as one batch call.

The queue hands each handler the ready jobs of its type from one read (up to 100). They are split
by simulation (so by CRM account), checked against the simulation's status (paused → deferred,
cancelled → skipped), sent as one batch call, and settled one by one from their own item's result.

Creates are idempotent (SPEC §6):

* contacts are upserted on ``email``;
* every created object's CRM id is recorded in ``{s<id>}:ids`` under its ``simcrm_key``; a job whose
  object is recorded there is done without a call;
* companies, deals and tickets carry a unique ``simcrm_key``: a create HubSpot refuses as a
  duplicate of it is resolved by reading the object back;
* notes, calls and tasks cannot have a unique property, so before a create is sent its job is
  marked *uncertain*; the mark is cleared once the outcome is known. A job that finds its own mark
  (its worker died, or a network error left the outcome unknown) searches for its ``simcrm_key``
  first — after waiting out the search index's lag — and creates only when nothing is found.

Activities are associated with their record's contact (and a deal with its company) using the ids
recorded when those were created.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog

from engine.crm import (
    SIMCRM_KEY,
    Association,
    BatchResult,
    CrmError,
    ErrorCategory,
    NetworkError,
    ObjectInput,
    ObjectType,
    Throttled,
    UpdateInput,
    UpsertInput,
)
from engine.model import WRITES, ActivityType, object_key
from engine.runtime.createdate import CreatedatePolicy
from engine.runtime.jobs import CONTACT, activity_of, index_of, sim_of
from engine.runtime.outcomes import Outcomes, Tally
from engine.runtime.planning import Planner
from engine.runtime.registry import Known, Registry
from engine.runtime.targets import Target, TargetUnavailable
from schema.simulations import SimulationStatus
from streams import Batched, Category, Defer, Job, Outcome

log = structlog.get_logger()

PAUSED_RECHECK_MS = 1_000
SEARCH_LAG_MS = 10_000
UNIQUE_KEY_TYPES = frozenset({ObjectType.COMPANY, ObjectType.DEAL, ObjectType.TICKET})
UPDATE_KEYS: Mapping[ActivityType, tuple[ObjectType, str]] = {
    ActivityType.LIFECYCLE_UPDATE: (ObjectType.CONTACT, "email"),
    ActivityType.DEAL_STAGE_UPDATE: (ObjectType.DEAL, SIMCRM_KEY),
}

Send = Callable[[Known, Target, Sequence[Job], Tally], Awaitable[list[Outcome]]]


class Handlers:
    """One batch handler per job type, sharing the registry, planner and outcome rules."""

    def __init__(
        self,
        *,
        redis: Any,
        registry: Registry,
        planner: Planner,
        outcomes: Outcomes,
        createdate: CreatedatePolicy,
        now_ms: Callable[[], int],
    ) -> None:
        self._redis = redis
        self._registry = registry
        self._planner = planner
        self._outcomes = outcomes
        self._createdate = createdate
        self._now_ms = now_ms

    def table(self) -> dict[str, Batched]:
        """The queue's handler table: contacts, and every activity type."""
        table = {CONTACT: Batched(functools.partial(self._run, self._send_contacts))}
        for kind in ActivityType:
            send: Send
            if kind in UPDATE_KEYS:
                send = functools.partial(self._send_updates, kind)
            else:
                send = functools.partial(self._send_creates, kind)
            table[kind.value] = Batched(functools.partial(self._run, send))
        return table

    # -- the common frame -------------------------------------------------------------------

    async def _run(self, send: Send, jobs: Sequence[Job]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(jobs)
        by_sim: dict[int, list[int]] = {}
        for position, job in enumerate(jobs):
            by_sim.setdefault(sim_of(job), []).append(position)
        pipe = self._redis.pipeline(transaction=False)
        for sim_id, positions in by_sim.items():
            batch = [jobs[p] for p in positions]
            tally = Tally()
            known = await self._registry.get(sim_id)
            results = await self._for_simulation(known, batch, tally, send)
            for position, outcome in zip(positions, results, strict=True):
                outcomes[position] = outcome
            if known is not None:
                for name, count in tally.counts.items():
                    pipe.hincrby(known.keys.metrics, name, count)
        if len(pipe):
            await pipe.execute()
        return [outcome for outcome in outcomes if outcome is not None]

    async def _for_simulation(
        self, known: Known | None, jobs: Sequence[Job], tally: Tally, send: Send
    ) -> list[Outcome]:
        if known is None or known.status in (SimulationStatus.CANCELLED, SimulationStatus.DRAFT):
            return [self._outcomes.skipped(job, tally) for job in jobs]
        if known.status is SimulationStatus.PAUSED:
            return [Defer(PAUSED_RECHECK_MS) for _ in jobs]
        try:
            target = await self._registry.target(known)
            return await send(known, target, jobs, tally)
        except TargetUnavailable as exc:
            return [
                self._outcomes.failed(job, tally, Category.AUTH, str(exc), retryable=False)
                for job in jobs
            ]
        except (CrmError, Throttled) as exc:
            return [self._outcomes.of_error(job, tally, exc) for job in jobs]

    # -- contacts --------------------------------------------------------------------------

    async def _send_contacts(
        self, known: Known, target: Target, jobs: Sequence[Job], tally: Tally
    ) -> list[Outcome]:
        portal = target.portal
        await portal.ensure_simcrm_properties(ObjectType.CONTACT)
        indices = [index_of(job) for job in jobs]
        contacts = [known.model.contact(index) for index in indices]

        def build(positions: Sequence[int], strip: bool) -> list[UpsertInput]:
            return [
                UpsertInput(contacts[p]["email"], self._createdate.apply(contacts[p], strip))
                for p in positions
            ]

        async def post(inputs: Sequence[UpsertInput]) -> BatchResult:
            return await portal.batch_upsert(ObjectType.CONTACT, inputs, id_property="email")

        items = await self._createdate.send(target.portal_id, build, post, len(jobs))
        outcomes: list[Outcome] = []
        created: dict[str, str] = {}
        planned: list[int] = []
        for job, index, item in zip(jobs, indices, items, strict=True):
            if item.ok and item.id is not None:
                created[job.id] = item.id
                planned.append(index)
                outcomes.append(self._outcomes.done(job, tally))
            else:
                outcomes.append(self._outcomes.of_item(job, tally, item))
        if created:
            await self._redis.hset(known.keys.ids, mapping=created)
            await self._planner.plan(known, planned)
        return outcomes

    # -- creates of activities ------------------------------------------------------------

    async def _send_creates(
        self, kind: ActivityType, known: Known, target: Target, jobs: Sequence[Job], tally: Tally
    ) -> list[Outcome]:
        write = WRITES[kind]
        object_type = write.object_type
        portal = target.portal
        await portal.ensure_simcrm_properties(object_type)
        keys = known.keys
        outcomes: dict[int, Outcome] = {}
        parents = {
            position: self._parent_keys(known.id, index_of(job), write.associate_with)
            for position, job in enumerate(jobs)
        }
        wanted = sorted({key for keys_of in parents.values() for key in keys_of.values()})
        job_ids = [job.id for job in jobs]
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(keys.ids, [*job_ids, *wanted])
        pipe.hmget(keys.uncertain, job_ids)
        recorded_ids, marks = await pipe.execute()
        own_ids = recorded_ids[: len(jobs)]
        parent_id = dict(zip(wanted, recorded_ids[len(jobs) :], strict=True))
        now = self._now_ms()
        uncertain: list[int] = []
        to_send: list[int] = []
        for position, job in enumerate(jobs):
            contact_key = parents[position].get(ObjectType.CONTACT)
            if own_ids[position] is not None:
                outcomes[position] = self._outcomes.done(job, tally)
            elif contact_key is not None and parent_id.get(contact_key) is None:
                outcomes[position] = self._outcomes.failed(
                    job, tally, Category.NOT_FOUND, "the record's contact has no recorded id",
                    retryable=True, after_ms=PAUSED_RECHECK_MS,
                )  # fmt: skip
            elif marks[position] is not None and object_type not in UNIQUE_KEY_TYPES:
                uncertain.append(position)
            else:
                to_send.append(position)
        if uncertain:
            to_send += await self._resolve_uncertain(
                known, target, object_type, jobs, uncertain, marks, now, outcomes, tally
            )
        if to_send:
            await self._create(
                known, target, kind, jobs, to_send, parents, parent_id, outcomes, tally
            )
        return [outcomes[position] for position in range(len(jobs))]

    @staticmethod
    def _parent_keys(
        sim_id: int, index: int, associate_with: Sequence[ObjectType]
    ) -> dict[ObjectType, str]:
        keys: dict[ObjectType, str] = {}
        for target_type in associate_with:
            if target_type is ObjectType.CONTACT:
                keys[target_type] = object_key(sim_id, CONTACT, index)
            elif target_type is ObjectType.COMPANY:
                keys[target_type] = object_key(sim_id, ActivityType.COMPANY.value, index, 0)
        return keys

    async def _resolve_uncertain(
        self,
        known: Known,
        target: Target,
        object_type: ObjectType,
        jobs: Sequence[Job],
        positions: Sequence[int],
        marks: Sequence[Any],
        now: int,
        outcomes: dict[int, Outcome],
        tally: Tally,
    ) -> list[int]:
        """Settle jobs whose earlier create may have gone through; returns those to create."""
        waiting = [p for p in positions if now - int(marks[p]) < SEARCH_LAG_MS]
        for position in waiting:
            outcomes[position] = Defer(SEARCH_LAG_MS - (now - int(marks[position])))
        settled = [p for p in positions if p not in waiting]
        if not settled:
            return []
        found = await target.portal.find_by_key(object_type, [jobs[p].id for p in settled])
        recorded: dict[str, str] = {}
        to_send: list[int] = []
        for position in settled:
            matches = found.get(jobs[position].id) or []
            if matches:
                recorded[jobs[position].id] = matches[0].id
                outcomes[position] = self._outcomes.done(jobs[position], tally)
            else:
                to_send.append(position)
        if recorded:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hset(known.keys.ids, mapping=recorded)
            pipe.hdel(known.keys.uncertain, *recorded)
            await pipe.execute()
            log.info("uncertain_creates_found", sim_id=known.id, count=len(recorded))
        return to_send

    async def _create(
        self,
        known: Known,
        target: Target,
        kind: ActivityType,
        jobs: Sequence[Job],
        positions: Sequence[int],
        parents: Mapping[int, Mapping[ObjectType, str]],
        parent_id: Mapping[str, Any],
        outcomes: dict[int, Outcome],
        tally: Tally,
    ) -> None:
        """Send one batch create for ``positions`` and settle each from its item."""
        object_type = WRITES[kind].object_type
        marked = object_type not in UNIQUE_KEY_TYPES
        payloads = [
            (
                known.model.activity_properties(index_of(jobs[p]), activity_of(jobs[p])),
                [
                    Association(to_type, _text(parent_id[key]))
                    for to_type, key in parents[p].items()
                    if parent_id.get(key) is not None
                ],
            )
            for p in positions
        ]

        def build(subset: Sequence[int], strip: bool) -> list[ObjectInput]:
            return [
                ObjectInput(self._createdate.apply(payloads[i][0], strip), payloads[i][1])
                for i in subset
            ]

        async def post(inputs: Sequence[ObjectInput]) -> BatchResult:
            return await target.portal.batch_create(object_type, inputs)

        job_ids = [jobs[p].id for p in positions]
        if marked:
            await self._redis.hset(
                known.keys.uncertain, mapping=dict.fromkeys(job_ids, self._now_ms())
            )
        try:
            items = await self._createdate.send(target.portal_id, build, post, len(positions))
        except (CrmError, Throttled) as exc:
            maybe_applied = isinstance(exc, NetworkError) and exc.maybe_applied
            if marked and not maybe_applied:
                await self._redis.hdel(known.keys.uncertain, *job_ids)
            raise
        recorded: dict[str, str] = {}
        duplicates: list[int] = []
        for position, item in zip(positions, items, strict=True):
            job = jobs[position]
            if item.ok and item.id is not None:
                recorded[job.id] = item.id
                outcomes[position] = self._outcomes.done(job, tally)
            elif item.category is ErrorCategory.CONFLICT and not marked:
                duplicates.append(position)
            else:
                outcomes[position] = self._outcomes.of_item(job, tally, item)
        if duplicates:
            recorded.update(
                await self._read_back(target, object_type, jobs, duplicates, outcomes, tally)
            )
        pipe = self._redis.pipeline(transaction=False)
        if recorded:
            pipe.hset(known.keys.ids, mapping=recorded)
        if marked:
            pipe.hdel(known.keys.uncertain, *job_ids)
        await pipe.execute()

    async def _read_back(
        self,
        target: Target,
        object_type: ObjectType,
        jobs: Sequence[Job],
        positions: Sequence[int],
        outcomes: dict[int, Outcome],
        tally: Tally,
    ) -> dict[str, str]:
        """Objects refused as duplicates of their unique ``simcrm_key`` exist: read their ids."""
        found = await target.portal.batch_read(
            object_type, [jobs[p].id for p in positions], id_property=SIMCRM_KEY
        )
        recorded: dict[str, str] = {}
        for position in positions:
            job = jobs[position]
            obj = found.found.get(job.id)
            if obj is not None:
                recorded[job.id] = obj.id
                outcomes[position] = self._outcomes.done(job, tally)
            else:
                message = "refused as a duplicate, yet no object carries its key"
                outcomes[position] = self._outcomes.failed(
                    job, tally, Category.CONFLICT, message, retryable=True
                )
        return recorded

    # -- updates (lifecycle and deal-stage progressions) ----------------------------------

    async def _send_updates(
        self, kind: ActivityType, known: Known, target: Target, jobs: Sequence[Job], tally: Tally
    ) -> list[Outcome]:
        object_type, id_property = UPDATE_KEYS[kind]
        outcomes: dict[int, Outcome] = {}
        targets_of: dict[int, str] = {}
        for position, job in enumerate(jobs):
            index = index_of(job)
            if object_type is ObjectType.CONTACT:
                targets_of[position] = known.model.contact(index)["email"]
            else:
                targets_of[position] = object_key(known.id, ActivityType.DEAL.value, index, 0)
        # One object may have several steps due at once: send them in rounds, in step order,
        # so each call names an object once and the last step is written last.
        order = sorted(range(len(jobs)), key=lambda p: int(jobs[p].data["o"]))
        while order:
            round_positions: list[int] = []
            later: list[int] = []
            named: set[str] = set()
            for position in order:
                if targets_of[position] in named:
                    later.append(position)
                else:
                    named.add(targets_of[position])
                    round_positions.append(position)
            order = later
            inputs = [
                UpdateInput(
                    targets_of[p],
                    known.model.activity_properties(index_of(jobs[p]), activity_of(jobs[p])),
                )
                for p in round_positions
            ]
            result = await target.portal.batch_update(object_type, inputs, id_property=id_property)
            for position, item in zip(round_positions, result.items, strict=True):
                job = jobs[position]
                if item.ok:
                    outcomes[position] = self._outcomes.done(job, tally, updated=True)
                else:
                    outcomes[position] = self._outcomes.of_item(job, tally, item)
        return [outcomes[position] for position in range(len(jobs))]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
