"""/api/openapi.json describes every endpoint of SPEC §7, with its auth and error answers."""

from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from engine.model import SCENARIO_NAMES, DistributionMethod
from schema.simulations import SimulationStatus
from tests.api.conftest import BODY, Api

SPEC_ENDPOINTS = {
    ("get", "/api/health"),
    ("post", "/api/simulations"),
    ("get", "/api/simulations"),
    ("get", "/api/simulations/{id}"),
    ("post", "/api/simulations/{id}/start"),
    ("post", "/api/simulations/{id}/pause"),
    ("post", "/api/simulations/{id}/resume"),
    ("post", "/api/simulations/{id}/cancel"),
    ("get", "/api/simulations/{id}/metrics"),
    ("get", "/api/simulations/{id}/segments"),
    ("get", "/api/simulations/{id}/dlq"),
    ("post", "/api/simulations/{id}/dlq/replay"),
    ("get", "/api/dlq/summary"),
    ("get", "/api/simulations/{id}/thinning-events"),
    ("put", "/api/me/hubspot-token"),
    ("get", "/api/me/hubspot-token"),
    ("delete", "/api/me/hubspot-token"),
}
BOSS_ONLY = {
    ("get", "/api/simulations/{id}/dlq"),
    ("post", "/api/simulations/{id}/dlq/replay"),
    ("get", "/api/dlq/summary"),
    ("get", "/api/simulations/{id}/thinning-events"),
}


async def test_the_document_covers_the_spec(api: Api) -> None:
    """Every SPEC §7 endpoint is in the document; boss endpoints declare 403, lifecycle ones
    409, replay 429; the simulation body's schema names its fields; the dashboard and /metrics
    are served beside it."""
    document = await (await api.client.get("/api/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    declared = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert declared >= SPEC_ENDPOINTS
    for method, path in BOSS_ONLY:
        assert "403" in document["paths"][path][method]["responses"], path
    assert "409" in document["paths"]["/api/simulations/{id}/pause"]["post"]["responses"]
    assert "429" in document["paths"]["/api/simulations/{id}/dlq/replay"]["post"]["responses"]
    body = document["components"]["schemas"]["SimulationInput"]
    assert {"scenario", "start_time", "end_time", "total_records"} <= set(body["required"])
    assert (await api.client.get("/")).status == 200
    assert "SimCRM" in await (await api.client.get("/")).text()
    assert (await api.client.get("/static/app.js")).status == 200
    assert (await api.client.get("/metrics")).status == 200


async def test_the_document_is_valid_and_every_reference_resolves(api: Api) -> None:
    """The document passes an OpenAPI 3.1 validator, and every $ref in it points at a schema
    under components/schemas (the list's status filter included)."""
    document = await (await api.client.get("/api/openapi.json")).json()
    validate(document)
    schemas = document["components"]["schemas"]
    refs = re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(document))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref
    (status,) = [
        parameter
        for parameter in document["paths"]["/api/simulations"]["get"]["parameters"]
        if parameter["name"] == "status"
    ]
    assert "#/components/schemas/SimulationStatus" in json.dumps(status["schema"])
    assert set(schemas["SimulationStatus"]["enum"]) == {s.value for s in SimulationStatus}


async def test_the_simulation_body_is_as_strict_as_its_validation(api: Api) -> None:
    """The create body names its closed sets (scenarios, methods, timezones, targets), forbids
    unknown fields, bounds its numbers and gives each method its own parameters; a body built
    from the schema's own values is accepted, one outside it refused."""
    document = await (await api.client.get("/api/openapi.json")).json()
    body = document["components"]["schemas"]["SimulationInput"]
    fields = body["properties"]
    assert body["additionalProperties"] is False
    assert set(fields["scenario"]["enum"]) == set(SCENARIO_NAMES)
    assert set(fields["distribution_method"]["enum"]) == {m.value for m in DistributionMethod}
    assert "Europe/Berlin" in fields["timezone"]["enum"]
    assert fields["total_records"]["minimum"] == 1
    assert fields["calendar"] == {"$ref": "#/components/schemas/CalendarConfig"}
    assert document["components"]["schemas"]["CalendarConfig"]["additionalProperties"] is False
    assert fields["scenario_overrides"]["additionalProperties"] is False
    assert "name" not in fields["scenario_overrides"]["properties"]
    bell = next(
        rule["then"]["properties"]["distribution_params"]
        for rule in body["allOf"]
        if rule["if"].get("properties", {}).get("distribution_method", {}).get("const") == "bell"
    )
    assert set(bell["properties"]) == {"mean", "sigma"} and bell["additionalProperties"] is False
    for path in ("/api/simulations", "/api/simulations/preview"):
        spec = document["paths"].get(path, {}).get("post")
        if spec is not None:
            schema = spec["requestBody"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/SimulationInput"}, path
    accepted = {
        **BODY,
        "distribution_method": "bell",
        "distribution_params": {"mean": 0.3, "sigma": 0.2},
        "timezone": "Europe/Berlin",
        "calendar": {"preset": "b2b", "country": "DE"},
        "scenario_overrides": {"locale": "de_DE"},
    }
    assert (await api.call("member", "POST", "/api/simulations", accepted))[0] == 201
    refused = {**accepted, "distribution_params": {"peak": 0.5}}
    assert (await api.call("member", "POST", "/api/simulations", refused))[0] == 422


async def test_the_created_simulation_links_to_every_operation_on_it(api: Api) -> None:
    """POST /api/simulations's 201 answer links, by the body's id, to each operation under
    /api/simulations/{id}."""
    document = await (await api.client.get("/api/openapi.json")).json()
    links = document["paths"]["/api/simulations"]["post"]["responses"]["201"]["links"]
    on_simulation = {
        spec["operationId"]
        for path, operations in document["paths"].items()
        if path.startswith("/api/simulations/{id}")
        for spec in operations.values()
    }
    assert len(on_simulation) >= 12
    assert {link["operationId"] for link in links.values()} == on_simulation
    assert all(link["parameters"] == {"id": "$response.body#/id"} for link in links.values())
