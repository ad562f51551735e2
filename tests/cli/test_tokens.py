"""`simcrm tokens add|list|remove` as a user runs it: a real process talking to a live API whose
HubSpot is the sandbox. The token goes in on standard input and comes out nowhere."""

from __future__ import annotations

import asyncio
import logging
import os

import orjson
import pytest
from structlog.testing import capture_logs

from tests.api.conftest import Stack
from tests.cli.test_sim_client import SIMCRM

TOKEN = "pat-na1-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b7415"


@pytest.fixture
def hubspot_is_sandbox() -> bool:
    return True


async def tokens(stack: Stack, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """Run `simcrm tokens ARGS` as the member, feeding ``stdin``; returns (code, all output)."""
    env = {**os.environ, "SIMCRM_API_URL": stack.url, "SIMCRM_API_KEY": stack.keys["member"]}
    env["LOG_LEVEL"] = "debug"  # whatever the command logs is in its output, and checked
    process = await asyncio.create_subprocess_exec(
        str(SIMCRM),
        "tokens",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else b""), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_a_token_is_added_listed_masked_and_removed(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """`add --from-stdin` stores the token (the API checked it with HubSpot: its portal id is
    known); `list` shows only its last four characters; `remove` deletes it and `list` says so.
    Neither the commands' output nor anything the API logged holds the token."""
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    with capture_logs() as logs:
        code, out = await tokens(stack, "list")
        outputs.append(out)
        assert (code, out.strip()) == (0, "No HubSpot token stored.")

        code, out = await tokens(stack, "add", "--from-stdin", stdin=f"{TOKEN}\n")
        outputs.append(out)
        assert code == 0, out
        assert "ending …7415" in out and "HubSpot account 62515000" in out, out

        code, out = await tokens(stack, "list", "--json")
        outputs.append(out)
        assert code == 0, out
        (listed,) = orjson.loads(out)
        assert listed["last4"] == "7415" and listed["portalId"] == 62515000

        code, out = await tokens(stack, "remove")
        outputs.append(out)
        assert (code, out.strip()) == (0, "Removed your HubSpot token.")
        code, out = await tokens(stack, "remove")
        outputs.append(out)
        assert (code, out.strip()) == (1, "simcrm: no HubSpot token is stored")
    assert not [out for out in outputs if TOKEN in out]
    checks = [entry for entry in logs if entry.get("path") == "/account-info/v3/details"]
    assert checks, "the API's check with HubSpot was logged (so the logs were captured)"
    assert TOKEN not in repr(logs)
    assert TOKEN not in caplog.text


async def test_the_token_is_never_taken_from_the_command_line(stack: Stack) -> None:
    """There is no argument to pass a token on; without a terminal and without --from-stdin
    the command refuses (exit 2) and says how to pipe the token in; an empty line is refused;
    a token the API refuses is reported with the field it names, and nothing is stored."""
    code, out = await tokens(stack, "add", TOKEN)
    assert code == 2 and "unrecognized arguments" in out, out
    code, out = await tokens(stack, "add", stdin=f"{TOKEN}\n")
    assert code == 2 and out.strip().endswith("pipe the token in with --from-stdin"), out
    code, out = await tokens(stack, "add", "--from-stdin", stdin="\n")
    assert (code, out.strip()) == (2, "simcrm: no token given")
    code, out = await tokens(stack, "add", "--from-stdin", stdin="has spaces in it\n")
    assert code == 1 and "token" in out and "has spaces" not in out, out
    code, out = await tokens(stack, "list")
    assert (code, out.strip()) == (0, "No HubSpot token stored.")
