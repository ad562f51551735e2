"""/api/openapi.json describes every endpoint of SPEC §7, with its auth and error answers."""

from __future__ import annotations

from tests.api.conftest import Api

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
