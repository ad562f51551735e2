"""Many portals in one sandbox: each token its own account (id, tier, daily limit, time zone,
objects, properties, pipelines), configured by flags, a file or PATCH, with stats per portal."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from core.clock import ManualClock
from sandbox import PortalConfig, SandboxConfig
from sandbox.config import load_config_file
from tests.sandbox.conftest import call
from tests.support.sandboxes import SandboxFactory

EAST, WEST = "pat-na1-east", "pat-eu1-west"
PORTALS = (
    PortalConfig(EAST, 1001, tier=5, daily_limit=2, time_zone="Pacific/Auckland"),
    PortalConfig(WEST, 1002, daily_limit=2, time_zone="Europe/London"),
)


async def test_each_token_reaches_its_own_portal(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """Account info, rate-limit headers, objects and properties are the portal's own; other
    tokens reach the default portal; stats are per portal and summed."""
    portals = (PortalConfig(EAST, 1001, tier=5, time_zone="Pacific/Auckland"), PORTALS[1])
    sandbox = await sandbox_factory(portals=portals, daily_limit=0)
    _, east, headers = await call(http, sandbox, "GET", "/account-info/v3/details", token=EAST)
    assert (east["portalId"], east["timeZone"]) == (1001, "Pacific/Auckland")
    assert headers["X-HubSpot-RateLimit-Max"] == "5"
    _, default, _ = await call(http, sandbox, "GET", "/account-info/v3/details")
    assert (default["portalId"], default["timeZone"]) == (62_515_000, "UTC")

    contact = {"properties": {"email": "same@b.co"}}
    for token in (EAST, WEST, None):
        status, _, _ = await call(
            http, sandbox, "POST", "/crm/v3/objects/contacts", contact, token=token
        )
        assert status == 201  # one email, three accounts: no conflict
    spec = {"name": "simcrm_key", "label": "Key", "type": "string", "fieldType": "text",
            "groupName": "contactinformation", "hasUniqueValue": True}  # fmt: skip
    assert (await call(http, sandbox, "POST", "/crm/v3/properties/contacts", spec, token=EAST))[
        0
    ] == 201
    assert (await call(http, sandbox, "GET", "/crm/v3/properties/contacts/simcrm_key"))[0] == 404

    stats = sandbox.stats()
    assert stats.objects["contacts"] == 3
    assert set(stats.portals) == {"62515000", "1001", "1002"}
    assert stats.portals["1001"].objects["contacts"] == 1
    assert stats.portals["1001"].limit_10s == 5
    async with http.get(sandbox.url + "/__sandbox/stats?portal=1002") as answer:
        assert (await answer.json())["requests"] == 1
    async with http.get(sandbox.url + "/__sandbox/objects/contacts?portal=1001") as answer:
        assert len((await answer.json())["results"]) == 1
    async with http.get(sandbox.url + "/__sandbox/stats?portal=9") as answer:
        assert answer.status == 404
    assert [o.properties["email"] for o in sandbox.objects("contacts", 1002)] == ["same@b.co"]
    sandbox.reconfigure_portal(1002, tier=7)
    _, _, headers = await call(http, sandbox, "GET", "/crm/v3/objects/contacts", token=WEST)
    assert headers["X-HubSpot-RateLimit-Max"] == "7"


async def test_daily_limits_reset_at_the_portals_own_midnight(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory, manual_clock: ManualClock
) -> None:
    """At 09:00 UTC Auckland's day ends two hours later (22:00 local); London's does not."""
    sandbox = await sandbox_factory(portals=PORTALS)
    path = "/crm/v3/objects/contacts"
    for token in (EAST, WEST):
        for _ in range(2):
            assert (await call(http, sandbox, "GET", path, token=token))[0] == 200
        status, body, _ = await call(http, sandbox, "GET", path, token=token)
        assert (status, body["policyName"]) == (429, "DAILY")
    manual_clock.advance(2 * 3_600_000)
    assert (await call(http, sandbox, "GET", path, token=EAST))[0] == 200
    assert (await call(http, sandbox, "GET", path, token=WEST))[0] == 429
    assert sandbox.stats().portals["1002"].rate_limited["DAILY"] == 2


async def test_portals_change_while_running(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    """PATCH ?portal=ID changes one portal's tier; PATCH portals adds one (its token never
    echoed); a portal kept across a change keeps its objects."""
    sandbox = await sandbox_factory(portals=PORTALS[:1])
    await call(http, sandbox, "POST", "/crm/v3/objects/contacts",
               {"properties": {"email": "a@b.co"}}, token=EAST)  # fmt: skip
    async with http.patch(sandbox.url + "/__sandbox/config?portal=1001", json={"tier": 9}) as r:
        assert (r.status, (await r.json())["tier"]) == (200, 9)
    _, _, headers = await call(http, sandbox, "GET", "/crm/v3/objects/contacts", token=EAST)
    assert headers["X-HubSpot-RateLimit-Max"] == "9"
    added = [{"token": EAST, "portal_id": 1001, "tier": 9}, {"token": "pat-new", "portal_id": 7}]
    async with http.patch(sandbox.url + "/__sandbox/config", json={"portals": added}) as r:
        body = await r.json()
    assert r.status == 200
    assert "pat-new" not in str(body)
    _, account, _ = await call(http, sandbox, "GET", "/account-info/v3/details", token="pat-new")
    assert account["portalId"] == 7
    assert sandbox.stats().portals["1001"].objects["contacts"] == 1
    async with http.patch(sandbox.url + "/__sandbox/config?portal=1001", json={"seed": 1}) as r:
        assert r.status == 400


async def test_declared_tokens_and_the_token_list(
    http: aiohttp.ClientSession, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(portals=PORTALS, tokens=("pat-default",))
    assert (await call(http, sandbox, "GET", "/account-info/v3/details", token=EAST))[0] == 200
    assert (await call(http, sandbox, "GET", "/account-info/v3/details", token="x"))[0] == 401
    _, body, _ = await call(http, sandbox, "GET", "/account-info/v3/details", token="pat-default")
    assert body["portalId"] == 62_515_000


def test_portal_flags_and_config_files(tmp_path: Path) -> None:
    """``TOKEN:ID[,tier=,daily=,tz=]`` and a TOML file describe the same portals; mistakes are
    refused naming what is wrong."""
    parsed = PortalConfig.parse("pat:na1:x:1001,tier=5,daily=2,tz=Pacific/Auckland")
    assert parsed == PortalConfig("pat:na1:x", 1001, 5, 2, "Pacific/Auckland")
    file = tmp_path / "sandbox.toml"
    file.write_text(
        'tier = 190\nadversarial = true\n[[portals]]\ntoken = "pat:na1:x"\nportal_id = 1001\n'
        'tier = 5\ndaily_limit = 2\ntime_zone = "Pacific/Auckland"\n'
    )
    config = SandboxConfig.from_mapping(load_config_file(file))
    assert (config.tier, config.portals) == (190, (parsed,))
    assert config.shuffle_results and config.applied_error_rate > 0
    for text, error in (
        ("1001", "TOKEN:PORTALID"),
        ("pat:x", "portal id must be an integer"),
        ("pat:1,speed=3", "not one of tier, daily, tz"),
        ("pat:1,tz=Mars/Base", "IANA zone"),
    ):
        with pytest.raises(ValueError, match=error):
            PortalConfig.parse(text)
    with pytest.raises(ValueError, match="distinct"):
        SandboxConfig(portals=(PortalConfig("a", 1), PortalConfig("a", 2)))
    with pytest.raises(ValueError, match="unknown sandbox settings: speed"):
        SandboxConfig.from_mapping({"speed": 3})
