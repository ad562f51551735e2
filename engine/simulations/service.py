"""The simulations service: the only code that creates simulations and moves their status.

The API, the demo, the runtime and the tests all go through :class:`Simulations`, so a definition
is validated the same way everywhere and every status change follows one table
(:mod:`engine.simulations.actions`). The store stays the store: it keeps rows and refuses any
status change SPEC §3 does not allow, in one conditional UPDATE, so two processes racing to move
the same simulation cannot both win; the service decides which action that change is, and what
must hold before it (a ``hubspot`` simulation starts only when its owner has a token).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.crm import CrmError, Throttled
from engine.model import DefinitionError, SimulationInput, SimulationSpec
from engine.simulations.actions import MOVES, Action
from engine.simulations.errors import (
    IllegalAction,
    InvalidDefinition,
    MissingToken,
    PortalNotReady,
    SimulationNotFound,
)
from engine.simulations.portals import Portals
from engine.simulations.readiness import portal_problems, prepare_portal
from engine.simulations.tokens import NOTHING_STORED, HubSpotTokens
from schema.errors import IllegalTransition
from schema.errors import NotFound as StoreNotFound
from schema.simulations import Simulation
from schema.store import Store

if TYPE_CHECKING:
    from engine.settings import Settings

Definition = SimulationInput | Mapping[str, Any]


class Simulations:
    """The service. With ``portals``, a start first checks the simulation's HubSpot account
    (:mod:`engine.simulations.readiness`); without, it does not reach the CRM."""

    def __init__(
        self, store: Store, tokens: HubSpotTokens, *, portals: Portals | None = None
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._portals = portals

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, *, portals: Portals | None = None
    ) -> Simulations:
        return cls(store, HubSpotTokens.from_settings(settings, store), portals=portals)

    async def create(self, owner_id: int, definition: Definition) -> Simulation:
        """Store a draft owned by ``owner_id``; its seed defaults to its id.

        ``definition`` is a body as a user sends it, or one validated already. The whole
        definition is checked (building its model runs off the event loop: the calendar must
        leave arrivals inside the window …) before anything is stored.

        Raises:
            InvalidDefinition: naming the first field at fault.
        """
        try:
            body = (
                definition
                if isinstance(definition, SimulationInput)
                else SimulationInput.parse(definition)
            )
            await asyncio.to_thread(body.to_spec, 0)
        except DefinitionError as exc:
            raise InvalidDefinition(exc.field, exc.reason) from None
        return await self._store.simulations.create(body.to_new_simulation(owner_id))

    async def start(self, sim_id: int) -> Simulation:
        """draft → running. A ``hubspot`` simulation needs its owner's token (or the global
        one): without it, MissingToken, and the simulation stays a draft. When the service has
        the portals, the account is checked first: PortalNotReady names what it lacks, and the
        simulation stays a draft; otherwise SimCRM's properties are created in it."""
        return await self.act(sim_id, Action.START)

    async def pause(self, sim_id: int) -> Simulation:
        """running → paused: its queued work waits."""
        return await self.act(sim_id, Action.PAUSE)

    async def resume(self, sim_id: int) -> Simulation:
        """paused → running."""
        return await self.act(sim_id, Action.RESUME)

    async def cancel(self, sim_id: int) -> Simulation:
        """draft, running or paused → cancelled: its queued work is dropped."""
        return await self.act(sim_id, Action.CANCEL)

    async def complete(self, sim_id: int) -> Simulation:
        """running → completed (the runtime, once every job is settled)."""
        return await self.act(sim_id, Action.COMPLETE)

    async def reopen(self, sim_id: int) -> Simulation:
        """completed → running: replayed dead letters are work again; the runtime completes it
        once more when they are settled."""
        return await self.act(sim_id, Action.REOPEN)

    async def fail(self, sim_id: int, reason: str) -> Simulation:
        """draft, running or paused → failed, keeping ``reason`` (never a secret) on the row."""
        return await self.act(sim_id, Action.FAIL, reason=reason)

    async def act(self, sim_id: int, action: Action, *, reason: str | None = None) -> Simulation:
        """Take ``action`` and return the simulation as it is now.

        Raises:
            SimulationNotFound: there is no such simulation.
            IllegalAction: its status does not allow the action (also when another process
                moved it first); nothing changed.
            MissingToken: a ``hubspot`` simulation cannot start without a token.
        """
        move = MOVES[action]
        row = await self._get(sim_id)
        if row.status not in move.sources:
            raise IllegalAction(row, action.value, move.sources)
        needs_token = action is Action.START and row.target == "hubspot"
        if needs_token and not await self._tokens.available(row.owner_id):
            raise MissingToken(NOTHING_STORED, simulation=row)
        if action is Action.START and self._portals is not None:
            await self._check_portal(self._portals, row)
        try:
            return await self._store.simulations.transition(
                sim_id, move.target, reason=reason, only_from=move.sources
            )
        except StoreNotFound:
            raise SimulationNotFound(sim_id) from None
        except IllegalTransition as exc:
            current = await self._get(sim_id)
            raise IllegalAction(current, action.value, move.sources, str(exc)) from None

    async def _check_portal(self, portals: Portals, row: Simulation) -> None:
        """Refuse an account that cannot take ``row``; else prepare SimCRM's properties there.

        Raises:
            PortalNotReady: naming every problem (or the CRM failure met while checking).
            TargetUnavailable: the account cannot be used at all.
        """
        scenario = SimulationSpec.from_row(row).scenario
        try:
            target = await portals.target(row)
        except (CrmError, Throttled) as exc:
            raise PortalNotReady("?", [f"the account could not be reached: {exc}"], row) from None
        try:
            problems = await portal_problems(target.portal, scenario)
            if not problems:
                await prepare_portal(target.portal, scenario)
        except (CrmError, Throttled) as exc:
            problems = [f"the account could not be checked: {exc}"]
        if problems:
            raise PortalNotReady(target.portal_id, problems, row)

    async def _get(self, sim_id: int) -> Simulation:
        try:
            return await self._store.simulations.get(sim_id)
        except StoreNotFound:
            raise SimulationNotFound(sim_id) from None
