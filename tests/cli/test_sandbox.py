"""``simcrm sandbox`` as a user runs it: a real process serving real HTTP until SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

SIMCRM = Path(sys.executable).parent / "simcrm"


async def test_the_sandbox_command_serves_until_terminated() -> None:
    """Started with a tier and a free port it prints its URL, answers HubSpot calls with its
    tier's headers, serves /__sandbox/stats, and on SIGTERM stops cleanly with a summary."""
    process = await asyncio.create_subprocess_exec(
        *(str(SIMCRM), "sandbox", "--port", "0", "--tier", "190", "--daily-limit", "0"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 90)).decode()
    match = re.search(r"http://127\.0\.0\.1:\d+", first)
    assert match, first
    url = match.group(0)
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer pat-x"}) as http:
        async with http.get(f"{url}/crm/v3/objects/contacts") as answer:
            assert answer.status == 200
            assert answer.headers["X-HubSpot-RateLimit-Max"] == "190"
            assert "X-HubSpot-RateLimit-Daily" not in answer.headers
        async with http.get(f"{url}/__sandbox/stats") as answer:
            assert (await answer.json())["requests"] == 1
    process.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0
    assert "stopped after 1 requests" in out.decode()


async def test_bad_options_are_refused_naming_them() -> None:
    """An error rate outside 0..1 or an unknown fault stops with exit 2 and a clear message."""
    for args, expected in (
        (("--error-rate", "2"), "must be a number from 0 to 1"),
        (("--faults", "418"), "comma-separated list of: 423, 502"),
        (("--portal", "pat-x"), "TOKEN:PORTALID"),
        (("--search-lag-ms", "5-1"), "search_lag_max_ms must be >= search_lag_ms"),
        (("--config", "/nonexistent/sandbox.toml"), "No such file"),
    ):
        process = await asyncio.create_subprocess_exec(
            str(SIMCRM), "sandbox", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), 90)
        assert process.returncode == 2
        assert expected in err.decode()


async def test_portals_from_flags_and_a_config_file(tmp_path: Path) -> None:
    """A TOML file sets the tier and one portal, --portal adds another, --adversarial turns the
    modes on: each token reaches its own account, and the banner says what is on."""
    config = tmp_path / "sandbox.toml"
    config.write_text('tier = 190\n[[portals]]\ntoken = "pat-a"\nportal_id = 1001\n')
    process = await asyncio.create_subprocess_exec(
        str(SIMCRM), "sandbox", "--port", "0", "--config", str(config),
        "--portal", "pat-b:1002,tier=5,tz=Asia/Tokyo", "--adversarial", "--seed", "3",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    banner = [(await asyncio.wait_for(process.stdout.readline(), 90)).decode() for _ in range(5)]
    url = re.search(r"http://127\.0\.0\.1:\d+", banner[0])
    assert url, banner
    assert "portal 1002: tier 5/10 s" in "".join(banner)
    assert "shuffled results" in "".join(banner)
    assert "pat-a" not in "".join(banner)
    async with aiohttp.ClientSession() as http:
        for token, portal, tier, zone in (
            ("pat-a", 1001, "190", "UTC"),
            ("pat-b", 1002, "5", "Asia/Tokyo"),
            ("pat-other", 62_515_000, "190", "UTC"),
        ):
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{url.group(0)}/account-info/v3/details", headers=headers) as r:
                body = await r.json()
                assert (body["portalId"], body["timeZone"]) == (portal, zone)
                assert r.headers["X-HubSpot-RateLimit-Max"] == tier
        async with http.get(f"{url.group(0)}/__sandbox/config") as answer:
            assert (await answer.json())["shuffle_results"] is True
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0


def test_help_names_every_adversarial_flag() -> None:
    shown = subprocess.run(
        [str(SIMCRM), "sandbox", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in (
        "--portal", "--config", "--adversarial", "--applied-error-rate", "--applied-errors",
        "--applied-timeout-rate", "--applied-timeout-ms", "--search-lag-ms",
        "--shuffle-results", "--no-trace-echo", "--duplicate-wordings", "--lifecycle-backwards",
    ):  # fmt: skip
        assert flag in shown, flag
