"""Previews and plans run in model worker processes with bounded admission: past the bound the
API answers 503 ``busy`` with Retry-After instead of queueing without end, and a worker that
dies is replaced."""

from __future__ import annotations

import asyncio
import os
import time

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
