"""Simulations: the one service that creates, validates, starts and transitions them, and the
one resolver of a simulation's HubSpot account.

- :mod:`engine.simulations.service` — :class:`Simulations`: ``create`` (validated as the API
  validates), ``start``, ``pause``, ``resume``, ``cancel``, and the runtime's ``complete`` and
  ``fail``.
- :mod:`engine.simulations.actions` — the actions and the statuses each may be taken from.
- :mod:`engine.simulations.tokens` — which HubSpot token an owner's simulations use.
- :mod:`engine.simulations.portals` — :class:`Portals`: a simulation's account, for writing
  (:meth:`~Portals.target`) or for reporting without waiting (:meth:`~Portals.portal_id`).
- :mod:`engine.simulations.errors` — what they refuse, in one hierarchy.
"""

from engine.simulations.actions import MOVES, USER_ACTIONS, Action, Move
from engine.simulations.errors import (
    IllegalAction,
    InvalidDefinition,
    MissingToken,
    NoTokenSecret,
    SimulationError,
    SimulationNotFound,
    TargetUnavailable,
)
from engine.simulations.portals import Portals, Target
from engine.simulations.service import Definition, Simulations
from engine.simulations.tokens import HubSpotTokens

__all__ = [
    "MOVES",
    "USER_ACTIONS",
    "Action",
    "Definition",
    "HubSpotTokens",
    "IllegalAction",
    "InvalidDefinition",
    "MissingToken",
    "Move",
    "NoTokenSecret",
    "Portals",
    "SimulationError",
    "SimulationNotFound",
    "Simulations",
    "Target",
    "TargetUnavailable",
]
