"""The account of the legacy HUBSPOT_API_TOKEN is reported like any other: in /api/health (to a
boss), in a simulation's /limits, and among the limiter gauges of /metrics."""

from __future__ import annotations

from pydantic import SecretStr

from tests.api.conftest import ApiFactory
from tests.support.sandboxes import SandboxFactory

LEGACY = "pat-na1-legacy-2222-3333"
SCRAPER = "scraper-token-for-the-legacy-test"


async def test_the_legacy_tokens_account_is_reported(
    make_api: ApiFactory, sandbox_factory: SandboxFactory
) -> None:
    """With HUBSPOT_API_TOKEN set and no stored token, the token's account (learnt from HubSpot
    once) shows in health's limits, as the account of a member's `hubspot` simulation, and in the
    limiter gauges; the token itself appears nowhere."""
    crm = await sandbox_factory(tokens=(LEGACY,), portal_id=717171)
    api = await make_api(
        HUBSPOT_BASE_URL=crm.url,
        HUBSPOT_API_TOKEN=SecretStr(LEGACY),
        METRICS_TOKEN=SecretStr(SCRAPER),  # accounts are named only to the scraper
    )
    sim = await api.create("member", target="hubspot")

    status, health = await api.call("boss", "GET", "/api/health")
    assert status == 200
    assert "717171" in [view["portal"] for view in health["limits"]]

    status, limits = await api.call("member", "GET", f"/api/simulations/{sim['id']}/limits")
    assert status == 200
    assert limits["portal"] == "717171"
    assert limits["state"]["portal"] == "717171"

    response = await api.client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})
    text = await response.text()
    assert response.status == 200
    assert 'simcrm_limiter_breaker_state{portal="717171"} 0.0' in text
    assert 'simcrm_limiter_window_limit{portal="717171"}' in text
    for shown in (str(health), str(limits), text):
        assert LEGACY not in shown
