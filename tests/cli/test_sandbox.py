"""``simcrm sandbox`` as a user runs it: a real process serving real HTTP until SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
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
    first = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
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
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0
    assert "stopped after 1 requests" in out.decode()


async def test_bad_options_are_refused_naming_them() -> None:
    """An error rate outside 0..1 or an unknown fault stops with exit 2 and a clear message."""
    for args, expected in (
        (("--error-rate", "2"), "must be a number from 0 to 1"),
        (("--faults", "418"), "comma-separated list of: 423, 502"),
    ):
        process = await asyncio.create_subprocess_exec(
            str(SIMCRM), "sandbox", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 2
        assert expected in err.decode()
