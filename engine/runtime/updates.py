"""Lifecycle-stage and deal-stage progressions: updates of objects created earlier.

A lifecycle step updates the record's contact, a deal-stage step the record's deal, each by its
recorded CRM id (so every result is matched to its input by the id it names): while the object
is not recorded yet and its job is live, the step waits (deferred, no attempt spent); when the
object will not exist (dead-lettered) the step is skipped. One object may have several steps due
at once (a backfill makes all of them due): each call takes the earliest step of each object it
holds and defers the later ones a moment to join the next call, so a call names an object once
and stays full.

No object is moved backwards: each object's highest step sent is kept in ``{s<id>}:progress``
(``lua/advance-1.lua``), and a step below it — a step replayed from the dead letters, or one that
was retried after the next one went out — is skipped instead of sent. HubSpot refuses a
lifecycle stage that moves back, and a deal should not reopen either.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from engine.crm import CrmError, ObjectType, Throttled, UpdateInput
from engine.model import ActivityType, object_key
from engine.runtime.context import WAIT_FOR_PARENT_MS, HandlerContext, recorded_id
from engine.runtime.jobs import CONTACT, activity_of, index_of
from engine.runtime.outcomes import Tally
from engine.runtime.registry import Known
from engine.runtime.release import release
from engine.simulations import Target
from streams import ACK, Job, Outcome

log = structlog.get_logger()

UPDATED_TYPES = {
    ActivityType.LIFECYCLE_UPDATE: ObjectType.CONTACT,
    ActivityType.DEAL_STAGE_UPDATE: ObjectType.DEAL,
}


class Updates:
    def __init__(self, context: HandlerContext) -> None:
        self._ctx = context

    async def send(
        self, kind: ActivityType, known: Known, target: Target, jobs: Sequence[Job], tally: Tally
    ) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        object_type = UPDATED_TYPES[kind]
        names = await self._object_ids(known, object_type, jobs, tally, outcomes)
        step: list[int] = []
        named: set[str] = set()
        for position in sorted(names, key=lambda p: int(jobs[p].data["o"])):
            if names[position] in named:
                outcomes[position] = self._ctx.outcomes.defer(0)
            else:
                named.add(names[position])
                step.append(position)
        step = await self._forward(known, object_type, jobs, step, tally, outcomes)
        if step:
            inputs = [
                UpdateInput(
                    names[p],
                    known.model.activity_properties(index_of(jobs[p]), activity_of(jobs[p])),
                )
                for p in step
            ]
            try:
                result = await target.portal.batch_update(object_type, inputs)
            except (CrmError, Throttled) as exc:
                if isinstance(exc, Throttled) and not outcomes:
                    raise  # nothing settled yet: the handlers hold the whole batch, or defer it
                for position in step:
                    outcomes[position] = self._ctx.outcomes.of_error(jobs[position], tally, exc)
                return await self._settled(known, jobs, outcomes)
            for position, item in zip(step, result.items, strict=True):
                job = jobs[position]
                if item.ok:
                    outcomes[position] = self._ctx.outcomes.updated(job, tally)
                else:
                    outcomes[position] = self._ctx.outcomes.of_item(job, tally, item)
        return await self._settled(known, jobs, outcomes)

    async def _settled(
        self, known: Known, jobs: Sequence[Job], outcomes: dict[int, Outcome]
    ) -> list[Outcome]:
        """The outcomes in job order, once the steps done (applied, or skipped) have released
        their next steps — before any of them is settled (dead ones release theirs once their
        objects are marked absent: see :mod:`.handlers`)."""
        done = [job for position, job in enumerate(jobs) if outcomes[position] is ACK]
        if done:
            await release(self._ctx.queue, known, done)
        return [outcomes[position] for position in range(len(jobs))]

    async def _forward(
        self,
        known: Known,
        object_type: ObjectType,
        jobs: Sequence[Job],
        positions: Sequence[int],
        tally: Tally,
        outcomes: dict[int, Outcome],
    ) -> list[int]:
        """The steps that move their object forward (or repeat its last step); the others are
        skipped."""
        if not positions:
            return []
        pairs: list[str | int] = []
        for position in positions:
            pairs.append(_object_key(known, object_type, jobs[position]))
            pairs.append(int(jobs[position].data["o"]))
        flags = await self._ctx.scripts.run("advance", [known.keys.progress], pairs)
        forward: list[int] = []
        for position, allowed in zip(positions, flags, strict=True):
            if int(allowed):
                forward.append(position)
            else:
                outcomes[position] = self._ctx.outcomes.skipped(jobs[position], tally)
        if len(forward) < len(positions):
            log.info("stale_steps_skipped", sim_id=known.id, count=len(positions) - len(forward))
        return forward

    async def _object_ids(
        self,
        known: Known,
        object_type: ObjectType,
        jobs: Sequence[Job],
        tally: Tally,
        outcomes: dict[int, Outcome],
    ) -> dict[int, str]:
        """The recorded CRM id of each job's object (updated by id, so each result is matched by
        the id it names); jobs whose object is missing or absent are settled."""
        keys = [_object_key(known, object_type, job) for job in jobs]
        raw = await self._ctx.redis.hmget(known.keys.ids, keys)
        unrecorded = [key for key, value in zip(keys, raw, strict=True) if value is None]
        live = await self._ctx.queue.live_ids(str(known.id), unrecorded)
        names: dict[int, str] = {}
        for position, (job, key, value) in enumerate(zip(jobs, keys, raw, strict=True)):
            object_id = recorded_id(value)
            if object_id is not None:
                names[position] = object_id
            elif key in live:
                outcomes[position] = self._ctx.outcomes.defer(WAIT_FOR_PARENT_MS)
            else:  # marked absent, or its job is gone: the object will not exist
                outcomes[position] = self._ctx.outcomes.skipped(job, tally)
        return names


def _object_key(known: Known, object_type: ObjectType, job: Job) -> str:
    """The object key of the contact or deal a progression step applies to."""
    if object_type is ObjectType.CONTACT:
        return object_key(known.id, CONTACT, index_of(job))
    return object_key(known.id, ActivityType.DEAL.value, index_of(job), 0)
