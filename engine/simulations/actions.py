"""The actions that move a simulation between statuses (SPEC §3), each with its sources.

::

    action     from                        to
    start      draft                       running
    pause      running                     paused
    resume     paused                      running
    cancel     draft, running, paused      cancelled
    complete   running                     completed   (the runtime, once all work is settled)
    reopen     completed                   running     (a replay put dead letters back to work)
    fail       draft, running, paused      failed      (the runtime, when the CRM is unusable)

Each row narrows the store's table of legal status changes (``schema.simulations.ALLOWED_FROM``):
``start`` and ``resume`` both lead to running, but from different statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schema.simulations import SimulationStatus

_DRAFT = SimulationStatus.DRAFT
_RUNNING = SimulationStatus.RUNNING
_PAUSED = SimulationStatus.PAUSED


class Action(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    COMPLETE = "complete"
    FAIL = "fail"
    REOPEN = "reopen"


@dataclass(frozen=True, slots=True)
class Move:
    """The statuses an action may be taken from, and the status it leads to."""

    sources: frozenset[SimulationStatus]
    target: SimulationStatus


MOVES: dict[Action, Move] = {
    Action.START: Move(frozenset({_DRAFT}), _RUNNING),
    Action.PAUSE: Move(frozenset({_RUNNING}), _PAUSED),
    Action.RESUME: Move(frozenset({_PAUSED}), _RUNNING),
    Action.CANCEL: Move(frozenset({_DRAFT, _RUNNING, _PAUSED}), SimulationStatus.CANCELLED),
    Action.COMPLETE: Move(frozenset({_RUNNING}), SimulationStatus.COMPLETED),
    Action.FAIL: Move(frozenset({_DRAFT, _RUNNING, _PAUSED}), SimulationStatus.FAILED),
    Action.REOPEN: Move(frozenset({SimulationStatus.COMPLETED}), _RUNNING),
}

USER_ACTIONS = (Action.START, Action.PAUSE, Action.RESUME, Action.CANCEL)
"""The actions people take (the API's lifecycle endpoints); the others belong to the runtime."""
