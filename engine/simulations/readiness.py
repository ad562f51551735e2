"""Whether a HubSpot account can take a simulation, checked when it starts.

Everything the scenario will write must exist in the account, or objects would be refused one
by one for hours: the lifecycle stages among the options of the contacts' ``lifecyclestage``,
in the account's order (HubSpot refuses a stage that moves back, so the scenario's progression
must run forward there), the deal pipeline with every deal stage, won and lost stage, the ticket
pipeline with its stage, and no ``simcrm_key`` defined without a unique value where SimCRM needs
it unique. Every problem is named in one :class:`~engine.simulations.errors.PortalNotReady`;
when there is none, SimCRM's own properties are created (in their ``simcrm`` group, ``simcrm_key``
unique where it must be) before the first object is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from engine.crm import CrmError, ObjectType, Pipeline, PortalClient, UnusableProperty
from engine.crm.objects import simcrm_properties
from engine.crm.portal import check_unique_properties
from engine.model import WRITES, ActivityType, Scenario
from engine.model.engagements import TICKET_PIPELINE, TICKET_STAGE

LIFECYCLE = "lifecyclestage"


T = TypeVar("T")
CHECK_ATTEMPTS = 5  # one call of the start's account check, when HubSpot fails it transiently
CHECK_RETRY_S = 0.2


async def _transient_retried(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, sent again (a few times, waiting a little longer each time) while HubSpot fails
    it in a way that may pass: a 5xx, a 524, a lost answer. Reads and idempotent property set-up
    only; anything else is raised at once."""
    for attempt in range(1, CHECK_ATTEMPTS):
        try:
            return await call()
        except CrmError as exc:
            if not exc.retryable or exc.status == 429:
                raise
        await asyncio.sleep(CHECK_RETRY_S * attempt)
    return await call()


def written_types(scenario: Scenario) -> list[ObjectType]:
    """The object types a simulation of ``scenario`` creates: contacts, and its activities'."""
    types = [ObjectType.CONTACT]
    for kind in ActivityType:
        write = WRITES[kind]
        wanted = write.operation == "create" and scenario.rule(kind) is not None
        if wanted and write.object_type not in types:
            types.append(write.object_type)
    return types


async def portal_problems(portal: PortalClient, scenario: Scenario) -> list[str]:
    """What the account lacks for ``scenario``, one sentence each (empty: it can take it).

    The reads go out together (a start waits for the slowest, not for the sum of them)."""
    types = written_types(scenario)

    async def pipelines(object_type: ObjectType, wanted: bool) -> list[Pipeline] | None:
        if not wanted:
            return None
        return await _transient_retried(partial(portal.pipelines, object_type))

    read, deal_pipelines, ticket_pipelines = await asyncio.gather(
        asyncio.gather(*(_transient_retried(partial(portal.properties, t)) for t in types)),
        pipelines(ObjectType.DEAL, scenario.has_deals),
        pipelines(ObjectType.TICKET, scenario.rule(ActivityType.TICKET) is not None),
    )
    definitions = dict(zip(types, read, strict=True))
    problems: list[str] = []
    for object_type, definition in definitions.items():
        try:
            check_unique_properties(object_type, simcrm_properties(object_type), definition)
        except UnusableProperty as exc:
            problems.append(exc.message)
    problems += _lifecycle_problems(definitions[ObjectType.CONTACT].get(LIFECYCLE), scenario)
    if deal_pipelines is not None:
        plan = scenario.deals
        stages = [*plan.stages, plan.won_stage, plan.lost_stage]
        problems += _pipeline_problems(
            deal_pipelines, "deal", plan.pipeline, stages,
            "the scenario's deals.pipeline", "deals.stages, won_stage and lost_stage",
        )  # fmt: skip
    if ticket_pipelines is not None:
        problems += _pipeline_problems(
            ticket_pipelines, "ticket", TICKET_PIPELINE, [TICKET_STAGE],
            "tickets are created in the default ticket pipeline", "its first stage",
        )  # fmt: skip
    return problems


async def prepare_portal(portal: PortalClient, scenario: Scenario) -> None:
    """Create SimCRM's properties on every type ``scenario`` writes (once per transport), the
    types side by side."""
    await asyncio.gather(
        *(
            _transient_retried(partial(portal.ensure_simcrm_properties, object_type))
            for object_type in written_types(scenario)
        )
    )


def _lifecycle_problems(definition: Mapping[str, Any] | None, scenario: Scenario) -> list[str]:
    wanted = scenario.lifecycle.stages
    if definition is None:
        return [f"the account's contacts have no '{LIFECYCLE}' property"]
    options = sorted(
        (o for o in definition.get("options") or () if isinstance(o, Mapping)),
        key=lambda o: (_number(o.get("displayOrder")), str(o.get("value"))),
    )
    order = {str(o.get("value")): rank for rank, o in enumerate(options)}
    missing = [stage for stage in wanted if stage not in order]
    if missing:
        return [
            f"the contacts' '{LIFECYCLE}' has no option {_names(missing)} "
            f"(the scenario's lifecycle.stages); the account has {_names(list(order))}"
        ]
    ranks = [order[stage] for stage in wanted]
    if ranks != sorted(ranks):
        return [
            f"the scenario's lifecycle.stages {_names(wanted)} do not follow the account's "
            f"order of '{LIFECYCLE}' ({_names(list(order))}): a contact would be moved back"
        ]
    return []


def _pipeline_problems(
    pipelines: Sequence[Pipeline],
    noun: str,
    pipeline_id: str,
    stages: Sequence[str],
    pipeline_source: str,
    stage_source: str,
) -> list[str]:
    found = next((p for p in pipelines if p.id == pipeline_id), None)
    if found is None:
        have = _names([p.id for p in pipelines])
        return [
            f"the account has no {noun} pipeline '{pipeline_id}' ({pipeline_source}); it has {have}"
        ]
    ids = [stage.id for stage in found.stages]
    missing = [stage for stage in dict.fromkeys(stages) if stage not in ids]
    if missing:
        return [
            f"the account's {noun} pipeline '{pipeline_id}' has no stage {_names(missing)} "
            f"({stage_source}); it has {_names(ids)}"
        ]
    return []


def _names(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values) if values else "none"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
