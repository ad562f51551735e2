"""A daemon's own /metrics: `python -m engine --metrics-port N` serves Prometheus series about
its jobs, the queue and the limits, and they move while a run goes on."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine import daemon
from engine.settings import Settings
from sandbox import Sandbox
from schema.simulations import SimulationStatus
from schema.store import Store
from tests.engine.runtime.harness import (
    create_simulation,
    daemon_env,
    runtime_settings,
    wait_for_status,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def scrape(url: str, timeout_s: float = 20) -> Samples:
    """Every sample of the endpoint, by name and sorted labels; waits for the endpoint to
    come up."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    assert response.status == 200
                    text = await response.text()
                    break
            except aiohttp.ClientConnectionError:
                assert asyncio.get_running_loop().time() < deadline, "no /metrics in time"
                await asyncio.sleep(0.1)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= set(lab))


async def test_daemon_serves_its_metrics_during_a_run(
    sandbox: Sandbox, runtime_store: Store, database_file: str, redis_url: str
) -> None:
    """Scraped before and after a run, the daemon's /metrics carries the job histogram with
    the configured buckets, jobs by type and outcome (which grow to every contact created),
    the queue per shard with its lateness, and the sandbox account's limiter and breaker."""
    sandbox.reconfigure(latency_ms=50)
    row = await create_simulation(runtime_store, total_records=300)
    settings = runtime_settings(sandbox)
    env = daemon_env(settings, redis_url, database_file)
    env["PROM_DEFAULT_BUCKETS"] = "20,200,2000"
    port = free_port()
    daemon = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "engine",
        "--metrics-port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        before = await scrape(url)
        await wait_for_status(runtime_store, row.id, SimulationStatus.COMPLETED, 90, redis_url)
        await asyncio.sleep(1.5)  # one refresh of the shared state after the last job
        after = await scrape(url)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(daemon.wait(), 30) == 0

    jobs = "simcrm_worker_jobs_total"
    assert total(after, jobs) > total(before, jobs)
    assert total(after, jobs, type="contact", outcome="ok") == 300
    assert total(after, jobs, type="note") > 0
    bounds = {
        dict(labels)["le"]
        for name, labels in after
        if name == "simcrm_worker_job_duration_seconds_bucket" and ("type", "contact") in labels
    }
    assert bounds == {"0.02", "0.2", "2.0", "+Inf"}
    assert total(after, "simcrm_worker_job_duration_seconds_count", type="contact") == 300
    assert ("simcrm_queue_depth", (("shard", "0"),)) in after
    assert total(after, "simcrm_queue_depth") == 0  # the run is over: nothing left
    assert ("simcrm_queue_mover_lag_seconds", (("shard", "0"),)) in after
    assert total(after, "simcrm_queue_oldest_age_seconds", shard="0") >= 0
    breaker = [labels for name, labels in after if name == "simcrm_limiter_breaker_state"]
    assert len(breaker) == 1, "the sandbox's account"
    assert total(after, "simcrm_limiter_window_limit") > 0
    assert 0 <= total(after, "simcrm_worker_state_age_seconds") < 5


async def test_a_bad_metrics_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """`--metrics-port` outside 0–65535 stops the daemon before it connects, naming the option."""
    parser = argparse.ArgumentParser()
    daemon.add_arguments(parser)
    args = parser.parse_args(["--metrics-port", "70000"])
    assert await daemon.run(args, Settings.from_env()) == 2
    assert "--metrics-port must be an integer from 0 to 65535" in capsys.readouterr().out
