"""Four processes hammering one account through the shared limiter, against the sandbox on the
real clock (30 s: the limiter's guarantee is about wall-clock windows)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from sandbox import Sandbox, SandboxConfig

ROOT = Path(__file__).resolve().parents[3]
SECONDS = 30
PROCESSES = 4


@pytest.mark.slow
async def test_four_processes_never_exceed_the_window_and_use_it(
    redis: Redis, redis_url: str
) -> None:
    """4 processes × 5 tasks create contacts for 30 s through one limiter at tier 100: the
    sandbox answers no TEN_SECONDLY_ROLLING 429, sees at most 100 requests in any 10 s, and at
    least 95 % of the window is used (≥ 95 in the busiest window, ≥ 285 requests over three
    windows). Every create the workers counted is stored once."""
    async with Sandbox(SandboxConfig(tier=100, search_lag_ms=0)) as sandbox:
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.engine.crm.hammer_worker",
                sandbox.url,
                redis_url,
                "777",
                str(SECONDS),
                "5",
                str(worker),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for worker in range(PROCESSES)
        ]
        outputs = [await worker.communicate() for worker in workers]
        stats = sandbox.stats()
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()[-2_000:]
    counts = [orjson.loads(out.splitlines()[-1]) for out, _ in outputs]
    created = sum(c.get("created", 0) for c in counts)
    assert stats.rate_limited["TEN_SECONDLY_ROLLING"] == 0
    assert stats.peak_10s <= 100
    assert stats.peak_10s >= 95
    assert stats.requests >= 285
    assert created == stats.objects["contacts"] == stats.requests
    assert stats.duplicates_total == 0
