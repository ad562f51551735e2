"""Request body schemas in the OpenAPI document as strict as the validation behind them.

Pydantic derives a body's schema from its field types; the validators that check a name against a
list, or a parameter against its method, stay invisible to it. Here the simulation body
(``POST /api/simulations`` and the preview) gets them written out: the scenario, distribution
method and timezone as enums, each method's own ``distribution_params``, the calendar's fields,
and the scenario fields an override may set. What JSON Schema cannot say (``end_time`` after
``start_time``, a calendar leaving weight inside the window) stays in the descriptions.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

import holidays
from pydantic import TypeAdapter

from engine.model import SCENARIO_NAMES, DistributionMethod, Scenario
from engine.model.calendar import CalendarConfig

Schema = dict[str, Any]
Refinement = Callable[[Schema, Schema], None]
"""Changes a model's generated schema in place; the second argument is components/schemas."""

REF_TEMPLATE = "#/components/schemas/{model}"
UNIT = {"type": "number", "minimum": 0, "maximum": 1}


def _number(low: float, high: float) -> Schema:
    return {"type": "number", "minimum": low, "maximum": high}


RATES: Schema = {
    "start_rate": {"type": "number", "minimum": 0},
    "end_rate": {"type": "number", "minimum": 0},
}
POINTS: Schema = {
    "type": "array",
    "minItems": 2,
    "items": {
        "type": "array",
        "prefixItems": [UNIT, {"type": "number", "minimum": 0}],
        "minItems": 2,
        "maxItems": 2,
    },
    "description": "[position, rate] pairs; positions increase from 0 to 1, a rate above 0",
}
METHOD_PARAMETERS: dict[DistributionMethod, tuple[Schema, list[str]]] = {
    DistributionMethod.UNIFORM: ({}, []),
    DistributionMethod.POISSON: ({}, []),
    DistributionMethod.RAMP_UP: (RATES, []),
    DistributionMethod.RAMP_DOWN: (RATES, []),
    DistributionMethod.STAGES: ({"points": POINTS}, ["points"]),
    DistributionMethod.BELL: ({"mean": UNIT, "sigma": _number(0.01, 10)}, []),
    DistributionMethod.TRIANGULAR: ({"peak": UNIT}, []),
    DistributionMethod.FRONT_LOADED: ({"half_life": _number(0.01, 100)}, []),
    DistributionMethod.BACK_LOADED: ({"half_life": _number(0.01, 100)}, []),
}


def _adopt(schema: Schema, components: Schema) -> Schema:
    """Move ``schema``'s $defs into components (its refs already point there)."""
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    return schema


def _parameters_by_method() -> list[Schema]:
    """One if/then per method: with that method, only its parameters, typed."""
    rules = []
    for method, (properties, required) in METHOD_PARAMETERS.items():
        params: Schema = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            params["required"] = required
        condition: Schema = {"properties": {"distribution_method": {"const": method.value}}}
        if method is DistributionMethod.UNIFORM:  # the default when the field is left out
            condition = {
                "anyOf": [condition, {"not": {"required": ["distribution_method"]}}],
            }
        rules.append({"if": condition, "then": {"properties": {"distribution_params": params}}})
    return rules


def _calendar(components: Schema) -> Schema:
    """The calendar's schema, in components, with the holiday countries listed."""
    schema = _adopt(TypeAdapter(CalendarConfig).json_schema(ref_template=REF_TEMPLATE), components)
    schema["properties"]["country"] = {
        "anyOf": [
            {"type": "string", "enum": sorted(holidays.list_supported_countries())},
            {"type": "null"},
        ],
        "default": None,
        "description": "ISO 3166 code of the country whose public holidays are weighted down",
    }
    schema["properties"]["subdivision"]["description"] = "a subdivision the country's holidays know"
    schema["description"] = (
        "Hour, weekday and month weights, or a preset, and holidays; with the window it must "
        "leave some weight where arrivals go"
    )
    components["CalendarConfig"] = schema  # the scenario's calendar is checked the same way
    return {"$ref": f"{REF_TEMPLATE.format(model='CalendarConfig')}"}


def _partial(schema: Schema, components: Schema) -> Schema:
    """``schema`` as an override may give it: objects with every field optional, down to the
    leaves; unions (a delay or count of some ``kind``) replace the whole value, so stay whole."""
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[1]]
        return _partial(target, components) if "properties" in target else {"$ref": schema["$ref"]}
    if schema.get("type") != "object":
        return {key: value for key, value in schema.items() if key not in ("default", "title")}
    partial = {
        key: value
        for key, value in schema.items()
        if key not in ("required", "default", "title", "description")
    }
    if "properties" in schema:
        partial["properties"] = {
            name: _partial(field, components) for name, field in schema["properties"].items()
        }
    if isinstance(schema.get("additionalProperties"), dict):
        partial["additionalProperties"] = _partial(schema["additionalProperties"], components)
    return partial


def _overrides(components: Schema) -> Schema:
    """The scenario fields an override may set (all but its name), each part optional: objects
    are merged into the scenario's."""
    scenario = _adopt(TypeAdapter(Scenario).json_schema(ref_template=REF_TEMPLATE), components)
    fields = {name: field for name, field in scenario["properties"].items() if name != "name"}
    override = _partial({"type": "object", "properties": fields}, components)
    override["additionalProperties"] = False
    override["description"] = "changes to the scenario, merged into it part by part"
    return override


def simulation_input(schema: Schema, components: Schema) -> None:
    """The simulation body's schema, written out as its validators check it."""
    fields = schema["properties"]
    fields["scenario"]["enum"] = list(SCENARIO_NAMES)
    fields["distribution_method"]["enum"] = [method.value for method in DistributionMethod]
    fields["timezone"]["enum"] = sorted(zoneinfo.available_timezones())
    fields["calendar"] = _calendar(components)
    fields["scenario_overrides"] = _overrides(components)
    fields["distribution_params"] = {
        "type": "object",
        "description": "the method's parameters (see distribution_method)",
    }
    fields["end_time"]["description"] = "after start_time, at most 20 years later"
    schema["allOf"] = _parameters_by_method()


REFINEMENTS: dict[str, Refinement] = {"SimulationInput": simulation_input}
"""By model name: the refinement of its request schema."""
