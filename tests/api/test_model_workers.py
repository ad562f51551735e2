"""Previews and plans run in model worker processes with bounded admission: past the bound the
API answers 503 ``busy`` with Retry-After instead of queueing without end, and a worker that
dies is replaced."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.appkeys import MODELS
from api.compute import Busy, ModelWorkers
from api.errors import Unavailable
from tests.api.conftest import BODY, ApiFactory, error_of


async def test_admission_is_bounded_and_a_dead_worker_is_replaced() -> None:
    """With one worker, three jobs are admitted (one running, two waiting) and a fourth is
    refused at once; a worker process that exits is reported and the next call gets a new one."""
    workers = ModelWorkers(1)
    try:
        assert await workers.run(os.getpid) != os.getpid()
        held = [asyncio.create_task(workers.run(time.sleep, 0.5)) for _ in range(3)]
        await asyncio.sleep(0)
        with pytest.raises(Busy) as caught:
            await workers.run(os.getpid)
        assert caught.value.headers["Retry-After"].isdigit()
        await asyncio.gather(*held)
        with pytest.raises(Unavailable):
            await workers.run(os._exit, 3)
        assert await workers.run(abs, -2) == 2
    finally:
        workers.close()


async def test_a_preview_past_the_bound_is_a_503_with_retry_after(make_api: ApiFactory) -> None:
    """While the model workers are full, a preview and a plan answer 503 busy with Retry-After;
    once they are free the same preview answers 200."""
    api = await make_api(SIMCRM_API_MODEL_WORKERS=1)
    sim = await api.create()
    workers = api.app[MODELS].workers
    held = [asyncio.create_task(workers.run(time.sleep, 0.5)) for _ in range(workers.capacity)]
    await asyncio.sleep(0)
    for method, path, body in (
        ("POST", "/api/simulations/preview", BODY),
        ("GET", f"/api/simulations/{sim['id']}/plan", None),
    ):
        response = await api.client.request(method, path, json=body, headers=api.auth("member"))
        error = error_of(await response.json())
        assert response.status == 503 and error["code"] == "busy", error
        assert response.headers["Retry-After"].isdigit()
    await asyncio.gather(*held)
    status, preview = await api.call("member", "POST", "/api/simulations/preview", BODY)
    assert status == 200 and preview["records"] == BODY["total_records"]
    status, plan = await api.call("member", "GET", f"/api/simulations/{sim['id']}/plan")
    assert status == 200 and plan["records"] == BODY["total_records"]


SERVER = """
import asyncio, os
from api.compute import ModelWorkers

async def main() -> None:
    workers = ModelWorkers(1)
    print(await workers.run(os.getpid), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_workers_exit_when_the_api_process_is_killed() -> None:
    """A model worker whose API process died by SIGKILL (no chance to close its pool) exits by
    itself instead of lingering."""
    with subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True) as api:
        try:
            assert api.stdout is not None
            worker = int(api.stdout.readline())
            assert _running(worker)
        finally:
            api.kill()
            api.wait()
    deadline = time.monotonic() + 30
    while _running(worker):
        assert time.monotonic() < deadline, "the model worker outlived its API process"
        time.sleep(0.1)


def _running(pid: int) -> bool:
    """False for a process that exited (a zombie waiting for its parent counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False
