"""Errors of the simulations service and of resolving a simulation's HubSpot account.

Hierarchy::

    SimulationError                 anything the service refuses
    ├── InvalidDefinition           the definition is invalid; ``field`` names the field at fault
    │                               (dotted when nested: ``scenario_overrides.activities.note.cap``)
    ├── SimulationNotFound          no simulation has this id
    ├── IllegalAction               the simulation's status does not allow the action (pausing a
    │                               draft, resuming a completed one …); carries the row as it is
    └── TargetUnavailable           the simulation's CRM account cannot be used: no token, or a
        │                           stored token this process cannot read
        ├── MissingToken            a ``hubspot`` simulation's owner stored no token and no
        │                           HUBSPOT_API_TOKEN is set
        └── NoTokenSecret           a token is stored, but this process has no TOKEN_ENC_SECRET:
                                    its configuration, not the simulation, is at fault

No message ever contains a token.
"""

from __future__ import annotations

from collections.abc import Set

from schema.simulations import Simulation, SimulationStatus


class SimulationError(Exception):
    """Base class of the service's errors."""


class InvalidDefinition(SimulationError):
    """A definition value is invalid. ``field`` is its dotted name, ``reason`` what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class SimulationNotFound(SimulationError):
    """There is no simulation with this id."""

    def __init__(self, sim_id: int) -> None:
        super().__init__(f"simulation {sim_id} does not exist")
        self.sim_id = sim_id


class IllegalAction(SimulationError):
    """``action`` cannot be taken from the simulation's current status.

    ``simulation`` is the row as it is now; ``allowed`` the statuses the action may be taken
    from. The default message names both; a transition lost to a concurrent one carries the
    store's own message instead.
    """

    def __init__(
        self,
        simulation: Simulation,
        action: str,
        allowed: Set[SimulationStatus],
        message: str | None = None,
    ) -> None:
        sources = ", ".join(sorted(status.value for status in allowed))
        super().__init__(
            message
            or f"simulation {simulation.id} is {simulation.status.value}: "
            f"only a {sources} one can {action}"
        )
        self.simulation = simulation
        self.action = action
        self.allowed = frozenset(allowed)

    @property
    def status(self) -> SimulationStatus:
        return self.simulation.status


class TargetUnavailable(SimulationError):
    """The simulation's CRM account cannot be used (no token, or a token that cannot be read)."""


class NoTokenSecret(TargetUnavailable):
    """The owner's token is stored encrypted and this process has no TOKEN_ENC_SECRET to read it.

    The process is misconfigured; the simulation is fine and another process can run it."""


class MissingToken(TargetUnavailable):
    """A ``hubspot`` simulation's owner stored no HubSpot token, and no global one is set.

    ``simulation`` is the row a start was refused for (None when the runtime found no token).
    """

    def __init__(self, message: str, simulation: Simulation | None = None) -> None:
        super().__init__(message)
        self.simulation = simulation
