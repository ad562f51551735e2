"""Scenarios: what a simulated team does with each record, as data.

A scenario is a JSON file in ``engine/model/scenarios/`` (``b2b_saas``, ``b2c_ecommerce``,
``support_heavy``) validated into a frozen :class:`Scenario`. A simulation may override any part
with ``scenario_overrides``, a JSON object merged key by key into the scenario's own JSON (a
nested object merges; any other value, or an object carrying ``kind``, replaces). The merged
result is validated again, so an override naming an unknown key fails, naming it.

For each activity type (``company``, ``deal``, ``note``, ``call``, ``task``, ``ticket``,
``lifecycle_update``, ``deal_stage_update``) an :class:`ActivityRule` gives the probability a
record gets any, how many (``count``, capped per record by ``cap``), a simulation-wide
``budget`` (None: unlimited) and the ``delay`` after its parent. Lifecycle and deal-stage
progressions are chains: each step is delayed from the previous one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from enum import StrEnum
from importlib import resources
from typing import Annotated, Any, Literal

from faker.config import AVAILABLE_LOCALES
from pydantic import ConfigDict, Field, TypeAdapter, model_validator
from pydantic.dataclasses import dataclass

from engine.model.calendar import CalendarConfig
from engine.model.draws import Count, Delay, FixedCount, FixedDelay
from engine.model.errors import DefinitionError
from engine.model.validation import validate_as

_STRICT = ConfigDict(extra="forbid")
Text = Annotated[str, Field(min_length=1, max_length=500)]


class ActivityType(StrEnum):
    """What a record can get after it is created, in the order a record's plan draws them."""

    COMPANY = "company"
    DEAL = "deal"
    NOTE = "note"
    CALL = "call"
    TASK = "task"
    TICKET = "ticket"
    LIFECYCLE_UPDATE = "lifecycle_update"
    DEAL_STAGE_UPDATE = "deal_stage_update"


@dataclass(frozen=True, slots=True, config=_STRICT)
class ActivityRule:
    """How a record gets activities of one type."""

    probability: Annotated[float, Field(ge=0, le=1)] = 0.0
    count: Count = FixedCount()
    cap: Annotated[int, Field(ge=0, le=100)] = 1
    budget: Annotated[int, Field(ge=0)] | None = None
    delay: Delay = FixedDelay()
    business_hours: bool = False
    snap_minutes: Annotated[int, Field(ge=0, le=240)] = 0


@dataclass(frozen=True, slots=True, config=_STRICT)
class Lifecycle:
    """Contacts start at ``stages[0]``; each lifecycle update moves one stage on."""

    stages: Annotated[tuple[Text, ...], Field(min_length=1, max_length=20)] = ("lead",)


@dataclass(frozen=True, slots=True, config=_STRICT)
class DealPipeline:
    """Deals start at ``stages[0]``; updates walk the stages, then close won or lost."""

    pipeline: Text = "default"
    stages: Annotated[tuple[Text, ...], Field(min_length=1, max_length=20)] = (
        "appointmentscheduled",
    )
    won_stage: Text = "closedwon"
    lost_stage: Text = "closedlost"
    win_probability: Annotated[float, Field(ge=0, le=1)] = 0.3
    amount_median: Annotated[float, Field(gt=0, le=1e9)] = 5000.0
    amount_sigma: Annotated[float, Field(ge=0, le=3)] = 0.8
    cycle_days: Annotated[float, Field(gt=0, le=3650)] = 30.0


@dataclass(frozen=True, slots=True, config=_STRICT)
class Texts:
    """Phrases for activity bodies; ``{first_name}``, ``{company}`` and ``{product}`` are filled."""

    note: Annotated[tuple[Text, ...], Field(min_length=1)] = ("Followed up with {first_name}.",)
    call: Annotated[tuple[Text, ...], Field(min_length=1)] = ("Call with {first_name}",)
    task: Annotated[tuple[Text, ...], Field(min_length=1)] = ("Follow up with {first_name}",)
    ticket: Annotated[tuple[Text, ...], Field(min_length=1)] = ("Question from {first_name}",)
    products: Annotated[tuple[Text, ...], Field(min_length=1)] = ("Subscription",)


@dataclass(frozen=True, slots=True, config=_STRICT)
class Scenario:
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    description: str = ""
    locale: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")] = "en_US"
    audience: Literal["business", "consumer"] = "business"
    calendar: CalendarConfig = CalendarConfig()
    past_window: Literal["drop", "clip"] = "drop"
    lifecycle: Lifecycle = Lifecycle()
    deals: DealPipeline = DealPipeline()
    texts: Texts = Texts()
    activities: Mapping[ActivityType, ActivityRule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _freeze(self) -> Scenario:
        object.__setattr__(self, "activities", dict(self.activities))
        return self

    def rule(self, kind: ActivityType) -> ActivityRule | None:
        """The rule for ``kind``, or None when this scenario never plans it."""
        rule = self.activities.get(kind)
        return rule if rule is not None and rule.probability > 0 and rule.cap > 0 else None

    @property
    def has_companies(self) -> bool:
        return self.rule(ActivityType.COMPANY) is not None

    @property
    def has_deals(self) -> bool:
        return self.rule(ActivityType.DEAL) is not None


_ADAPTER = TypeAdapter(Scenario)
SCENARIO_NAMES = ("b2b_saas", "b2c_ecommerce", "support_heavy")


def scenario_document(name: str) -> dict[str, Any]:
    """The JSON document of the built-in scenario ``name``.

    Raises:
        DefinitionError: naming ``scenario`` when there is no such scenario.
    """
    if name not in SCENARIO_NAMES:
        known = ", ".join(SCENARIO_NAMES)
        raise DefinitionError("scenario", f"must be one of {known} (got {name!r})")
    text = resources.files("engine.model.scenarios").joinpath(f"{name}.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in (see the module docstring for the rules)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping) and "kind" not in value:
            merged[key] = merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_scenario(name: str, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """The built-in scenario ``name`` with ``overrides`` applied, validated.

    Raises:
        DefinitionError: naming ``scenario`` or ``scenario_overrides.<key…>``.
    """
    document = scenario_document(name)
    if overrides:
        if not isinstance(overrides, Mapping):
            raise DefinitionError("scenario_overrides", "must be a JSON object")
        if "name" in overrides:
            raise DefinitionError("scenario_overrides.name", "cannot be overridden")
        document = merge(document, overrides)
    prefix = "scenario_overrides" if overrides else "scenario"
    scenario = validate_as(_ADAPTER, document, prefix)
    if scenario.locale not in AVAILABLE_LOCALES:
        raise DefinitionError(f"{prefix}.locale", f"{scenario.locale!r} is not a Faker locale")
    return scenario
