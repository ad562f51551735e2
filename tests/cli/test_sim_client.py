"""`simcrm sim …` as a user runs it: real processes talking to a live API (and a live engine)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from pathlib import Path

import orjson
import pytest

from cli import main
from tests.api.conftest import Stack

SIMCRM = Path(sys.executable).parent / "simcrm"


async def simcrm(stack: Stack, *args: str, who: str | None = "member") -> tuple[int, str]:
    """Run `simcrm ARGS` against the stack as ``who``; returns (exit code, stdout + stderr)."""
    env = {**os.environ, "SIMCRM_API_URL": stack.url, "LOG_LEVEL": "warning", "COLUMNS": "120"}
    env.pop("SIMCRM_API_KEY", None)
    if who is not None:
        env["SIMCRM_API_KEY"] = stack.keys[who]
    process = await asyncio.create_subprocess_exec(
        str(SIMCRM),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode()


@pytest.mark.slow
async def test_watch_follows_a_run_to_completion(stack: Stack) -> None:
    """`sim create --run` starts a backfill against the sandbox; `sim watch` shows progress bars
    per type and exits 0 once the simulation completes; `sim show` then reports the counts."""
    code, out = await simcrm(
        stack, "sim", "create", "--records", "40", "--backfill", "--start", "2026-01-05",
        "--days", "3", "--name", "cli run", "--run", "--json",
    )  # fmt: skip
    assert code == 0, out
    sim = orjson.loads(out)
    assert sim["status"] == "running" and sim["total_records"] == 40
    code, out = await simcrm(stack, "sim", "watch", str(sim["id"]), "--interval", "0.2")
    assert code == 0, out
    assert "contact" in out and "40/40" in out
    assert f"Simulation {sim['id']} is completed." in out
    code, out = await simcrm(stack, "sim", "show", str(sim["id"]), "--json")
    assert code == 0
    shown = orjson.loads(out)
    assert shown["simulation"]["status"] == "completed"
    assert shown["metrics"]["counts"]["contact"]["created"] == 40


async def in_process(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, *args: str, who: str | None = "member"
) -> tuple[int, str]:
    """Run `simcrm ARGS` in this process (on a thread: it runs its own event loop)."""
    monkeypatch.setenv("SIMCRM_API_URL", stack.url)
    monkeypatch.setenv("COLUMNS", "120")
    if who is None:
        monkeypatch.delenv("SIMCRM_API_KEY", raising=False)
    else:
        monkeypatch.setenv("SIMCRM_API_KEY", stack.keys[who])
    buffer = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            return main(list(args))

    code = await asyncio.to_thread(run)
    return code, buffer.getvalue()


async def test_lifecycle_and_errors_from_the_command_line(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create, list, pause/resume/cancel print the new status; an illegal move, a bad field, a
    member asking for dead letters and a missing key each fail with one clear line."""

    async def simcrm(stack: Stack, *args: str, who: str | None = "member") -> tuple[int, str]:
        return await in_process(stack, monkeypatch, *args, who=who)

    code, out = await simcrm(stack, "sim", "create", "--records", "10", "--start", "2030-01-01")
    assert code == 0, out
    sim_id = out.split()[2]
    code, out = await simcrm(stack, "sim", "list")
    assert code == 0 and "draft" in out and sim_id in out
    code, out = await simcrm(stack, "sim", "resume", sim_id)
    assert (code, out.strip()) == (
        1,
        f"simcrm: simulation {sim_id} is draft: only a paused one can resume",
    )
    code, out = await simcrm(stack, "sim", "cancel", sim_id)
    assert (code, out.strip()) == (0, f"Simulation {sim_id} is cancelled.")
    code, out = await simcrm(stack, "sim", "create", "--records", "0")
    assert code == 1 and "total_records" in out
    code, out = await simcrm(stack, "sim", "dlq", sim_id)
    assert code == 1 and "boss" in out
    code, out = await simcrm(stack, "sim", "dlq", sim_id, who="boss")
    assert code == 0 and "0 dead letters" in out
    code, out = await simcrm(stack, "sim", "replay", sim_id, "--categories", "auth", who="boss")
    assert code == 0 and out.startswith("Dry run: 0 selected")
    code, out = await simcrm(stack, "sim", "list", who=None)
    assert code == 2 and "SIMCRM_API_KEY" in out
