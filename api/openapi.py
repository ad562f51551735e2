"""The OpenAPI 3.1 document, generated from the declared routes and their pydantic models.

Every schema lives under ``components/schemas`` and is referenced from there (query parameters'
enums included). Request bodies are as strict as their validation (:mod:`api.request_schemas`).
The created simulation's answer links to every operation on ``/api/simulations/{id}``, so a
generated client (or a fuzzer) can follow from a create to everything done with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from api.request_schemas import REFINEMENTS
from api.routing import Operation, path_parameters

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}

RATE_LIMITED_SCHEMA: dict[str, Any] = {
    "allOf": [{"$ref": "#/components/schemas/Error"}],
    "type": "object",
    "required": ["error", "retryAfterMs"],
    "properties": {"retryAfterMs": {"type": "integer", "minimum": 0}},
}
REF_TEMPLATE = "#/components/schemas/{model}"
CREATE = ("post", "/api/simulations")
SIMULATION_PATH = "/api/simulations/{id}"

ERROR_DESCRIPTIONS = {
    400: "The body is not a JSON object",
    401: "No API key, or an unknown one",
    403: "The caller's role may not do this",
    404: "No such resource, or not the caller's",
    409: "The resource is not in a state that allows this",
    413: "The body is too large",
    422: "A field is invalid; details name it",
    429: "Too many calls; retryAfterMs (also in error.details) says when to retry",
    502: "HubSpot refused or failed",
    503: "A backing service is down",
}


def build_document(operations: Iterable[Operation], *, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA, "RateLimitedError": RATE_LIMITED_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(
            operation, components
        )
    _link_created_simulation(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SimCRM API",
            "version": version,
            "description": "Create, run and watch CRM simulations.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


def _ref(
    model: type[BaseModel], components: dict[str, Any], mode: JsonSchemaMode
) -> dict[str, Any]:
    """Put the model's schema (and the models it uses) in components; return a $ref to it."""
    schema = _adopt(
        model.model_json_schema(by_alias=True, ref_template=REF_TEMPLATE, mode=mode), components
    )
    refine = REFINEMENTS.get(model.__name__) if mode == "validation" else None
    if refine is not None:
        refine(schema, components)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _adopt(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move the schema's $defs into components (its refs already point there)."""
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    return schema


def _link_created_simulation(paths: dict[str, dict[str, Any]]) -> None:
    """Links from the created simulation to every operation on it, its id taken from the body."""
    created = paths.get(CREATE[1], {}).get(CREATE[0], {}).get("responses", {}).get("201")
    if created is None:
        return
    links = {}
    for path, operations in sorted(paths.items()):
        if path == SIMULATION_PATH or path.startswith(SIMULATION_PATH + "/"):
            for spec in operations.values():
                links[spec["operationId"]] = {
                    "operationId": spec["operationId"],
                    "parameters": {"id": "$response.body#/id"},
                    "description": spec["summary"],
                }
    created["links"] = links


def _operation(operation: Operation, components: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "summary": operation.summary,
        "operationId": operation.handler.__name__,
        "tags": [operation.tag],
    }
    if operation.handler.__doc__:
        spec["description"] = " ".join(operation.handler.__doc__.split())
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
        for name in path_parameters(operation.path)
    ]
    if operation.query is not None:
        query = _adopt(
            operation.query.model_json_schema(
                by_alias=True, ref_template=REF_TEMPLATE, mode="validation"
            ),
            components,
        )
        for name, info in operation.query.model_fields.items():
            field_schema = query["properties"][info.alias or name]
            parameters.append(
                {
                    "name": info.alias or name,
                    "in": "query",
                    "required": info.is_required(),
                    "schema": field_schema,
                }
            )
    if parameters:
        spec["parameters"] = parameters
    if operation.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _ref(operation.body, components, "validation")}
            },
        }
    responses: dict[str, Any] = {}
    for status, model in operation.responses.items():
        entry: dict[str, Any] = {"description": "OK" if status < 300 else "Result"}
        if model is not None:
            entry["content"] = {
                "application/json": {"schema": _ref(model, components, "serialization")}
            }
        responses[str(status)] = entry
    for status in _error_statuses(operation):
        error = "RateLimitedError" if status == 429 else "Error"
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}},
        }
    spec["responses"] = responses
    if operation.auth != "public":
        spec["security"] = [{"apiKey": []}]
    return spec


def _error_statuses(operation: Operation) -> list[int]:
    statuses = set(operation.errors)
    if operation.auth != "public":
        statuses.add(401)
    if operation.auth == "boss":
        statuses.add(403)
    if operation.body is not None:
        statuses.update({400, 413, 422})
    if operation.query is not None:
        statuses.add(422)
    if path_parameters(operation.path):
        statuses.add(404)
    return sorted(statuses)
