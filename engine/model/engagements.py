"""HubSpot properties of a planned activity: the object it creates, or the update it makes.

Creates carry the same audit properties as records (``simcrm_simulation_id``,
``simcrm_record_index``, ``simcrm_key``, ``simcrm_simulated_at``). Notes, calls and tasks carry
``hs_timestamp`` = the activity's simulated time (for a task it is the due date); tickets carry
``createdate``. Updates carry only what changes: ``lifecyclestage`` for a lifecycle step,
``dealstage`` for a deal-stage step — and, when the step closes the deal, ``closedate`` = the step's
time. Whether a deal closes won or lost is drawn per record from the ``deal-outcome`` stream.

Texts come from the scenario's phrase lists, filled with the record's first name, company and
product; choices use the ``engagement`` stream keyed by record, type and ordinal.
"""

from __future__ import annotations

from engine.crm.objects import (
    SIMCRM_KEY,
    SIMCRM_RECORD_INDEX,
    SIMCRM_SIMULATED_AT,
    SIMCRM_SIMULATION_ID,
)
from engine.model.activities import PlannedActivity
from engine.model.objects import object_key
from engine.model.records import RecordFactory
from engine.model.rng import Stream
from engine.model.scenario import ActivityType, Scenario

#: The pipeline and stage every ticket is created in: a portal's default ticket pipeline ("0")
#: and its first stage ("1", New).
TICKET_PIPELINE = "0"
TICKET_STAGE = "1"
_CALL_STATUSES = ("COMPLETED",) * 6 + ("NO_ANSWER", "NO_ANSWER", "BUSY", "FAILED")
_PRIORITIES = ("LOW", "MEDIUM", "MEDIUM", "HIGH")
_TASK_TYPES = ("CALL", "EMAIL", "TODO")
_KINDS = {kind: n for n, kind in enumerate(ActivityType)}


class EngagementFactory:
    """Properties of planned activities for one simulation."""

    __slots__ = ("_outcome", "_records", "_scenario", "_stream")

    def __init__(self, *, seed: int, scenario: Scenario, records: RecordFactory) -> None:
        self._scenario = scenario
        self._records = records
        self._stream = Stream(seed, "engagement")
        self._outcome = Stream(seed, "deal-outcome")

    def _pick(self, index: int, activity: PlannedActivity, draw: int, size: int) -> int:
        k = (_KINDS[activity.kind] * 1000 + activity.ordinal) * 8 + draw
        return self._stream.bits(index, k) % size

    def _text(
        self, index: int, activity: PlannedActivity, phrases: tuple[str, ...], fill: dict[str, str]
    ) -> str:
        return phrases[self._pick(index, activity, 0, len(phrases))].format(**fill)

    def won(self, index: int) -> bool:
        """Whether record ``index``'s deal closes won when its progression reaches the close."""
        return self._outcome.unit(index) < self._scenario.deals.win_probability

    def properties(self, index: int, activity: PlannedActivity) -> dict[str, str]:
        """The properties to send for ``activity`` of record ``index``."""
        kind = activity.kind
        at = str(activity.at_ms)
        if kind is ActivityType.COMPANY:
            return self._records.company(index, activity.at_ms, activity.ordinal)
        if kind is ActivityType.DEAL:
            return self._records.deal(index, activity.at_ms, activity.ordinal)
        if kind is ActivityType.LIFECYCLE_UPDATE:
            stages = self._scenario.lifecycle.stages
            return {"lifecyclestage": stages[min(activity.ordinal + 1, len(stages) - 1)]}
        if kind is ActivityType.DEAL_STAGE_UPDATE:
            return self._deal_step(index, activity)
        texts = self._scenario.texts
        fill = self._records.fill(index)
        properties: dict[str, str]
        if kind is ActivityType.NOTE:
            properties = {
                "hs_timestamp": at,
                "hs_note_body": self._text(index, activity, texts.note, fill),
            }
        elif kind is ActivityType.CALL:
            status = _CALL_STATUSES[self._pick(index, activity, 1, len(_CALL_STATUSES))]
            seconds = 30 + self._pick(index, activity, 2, 1800) if status == "COMPLETED" else 0
            properties = {
                "hs_timestamp": at,
                "hs_call_title": self._text(index, activity, texts.call, fill),
                "hs_call_body": self._text(index, activity, texts.note, fill),
                "hs_call_direction": "OUTBOUND"
                if self._pick(index, activity, 3, 10) < 7
                else "INBOUND",
                "hs_call_status": status,
                "hs_call_duration": str(seconds * 1000),
            }
        elif kind is ActivityType.TASK:
            properties = {
                "hs_timestamp": at,
                "hs_task_subject": self._text(index, activity, texts.task, fill),
                "hs_task_body": self._text(index, activity, texts.note, fill),
                "hs_task_status": "COMPLETED"
                if self._pick(index, activity, 1, 10) < 6
                else "NOT_STARTED",
                "hs_task_priority": _PRIORITIES[self._pick(index, activity, 2, len(_PRIORITIES))],
                "hs_task_type": _TASK_TYPES[self._pick(index, activity, 3, len(_TASK_TYPES))],
            }
        else:
            properties = {
                "subject": self._text(index, activity, texts.ticket, fill),
                "content": self._text(index, activity, texts.note, fill),
                "hs_pipeline": TICKET_PIPELINE,
                "hs_pipeline_stage": TICKET_STAGE,
                "hs_ticket_priority": _PRIORITIES[self._pick(index, activity, 2, len(_PRIORITIES))],
                "createdate": at,
            }
        records = self._records
        properties.update(
            {
                SIMCRM_SIMULATION_ID: str(records.sim_id),
                SIMCRM_RECORD_INDEX: str(index),
                SIMCRM_KEY: object_key(records.sim_id, kind.value, index, activity.ordinal),
                SIMCRM_SIMULATED_AT: at,
            }
        )
        return properties

    def _deal_step(self, index: int, activity: PlannedActivity) -> dict[str, str]:
        deals = self._scenario.deals
        step = activity.ordinal + 1
        if step < len(deals.stages):
            return {"dealstage": deals.stages[step]}
        stage = deals.won_stage if self.won(index) else deals.lost_stage
        return {"dealstage": stage, "closedate": str(activity.at_ms)}
