"""The demo: every part of SimCRM in one process, on the embedded defaults.

Redis is found the usual way (REDIS_URL, else localhost, else an embedded server); the database
is a SQLite file in a temporary directory unless DATABASE_URL (or DB_HOST) names one; the CRM is
the sandbox, in-process, at a real HubSpot tier. The API and dashboard are served while it runs.
All of the demo's Redis keys carry a prefix of their own, removed at the end, so a shared Redis
is left as it was found; its sandbox account gets a portal id of its own, so its rate-limit
state never mixes with another run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from rich.console import Console

from api.app import create_app
from api.protocol import ApiRunner
from cli.demo.view import LiveProgress, Summary, render_summary
from engine.redis_endpoint import RedisEndpoint, connect_redis, redis_endpoint
from engine.runtime import metrics
from engine.runtime.engine import Engine
from engine.runtime.keys import SimKeys
from engine.settings import Settings
from engine.simulations import Simulations
from sandbox import Sandbox, SandboxConfig
from schema.simulations import SimulationStatus
from schema.store import Store
from schema.users import Role

POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class DemoOptions:
    records: int = 2_000
    time_scale: float | None = None  # None: a backfill of the past week
    shards: int = 1
    scenario: str = "b2b_saas"
    distribution: str = "bell"
    tier: int = 190
    port: int = 8080
    serve: bool = False  # keep the dashboard up after the summary, until Ctrl-C


async def run_demo(settings: Settings, options: DemoOptions, console: Console) -> int:
    """Run the demo; 0 when the simulation completed with no duplicate, else 1."""
    prefix = f"simcrm-demo-{secrets.token_hex(4)}"
    explicit_db = settings.database.configured
    with tempfile.TemporaryDirectory(prefix="simcrm-demo-") as scratch:
        database_url = (
            settings.database.resolved_url()
            if explicit_db
            else f"sqlite+aiosqlite:///{scratch}/demo.db"
        )
        with redis_endpoint(settings) as endpoint:
            console.print(f"Redis     {endpoint.describe()} ({endpoint.source})")
            console.print(f"database  {database_url if not explicit_db else 'DATABASE_URL'}")
            portal_id = 60_000_000 + secrets.randbelow(9_000_000)
            config = SandboxConfig(tier=options.tier, portal_id=portal_id, search_lag_ms=1_000)
            async with Sandbox(config) as sandbox:
                demo_settings = settings.replace(
                    SIMCRM_SANDBOX_URL=sandbox.url,
                    HUBSPOT_TIER=options.tier,
                    SIMCRM_KEY_PREFIX=prefix,
                    SIMCRM_QUEUE_SHARDS=options.shards,
                    DATABASE_URL=database_url,
                )
                console.print(f"sandbox   {sandbox.url} (HubSpot tier {options.tier} / 10 s)")
                try:
                    return await _run(demo_settings, options, endpoint, sandbox, console)
                finally:
                    await _forget(endpoint, prefix)


async def _run(
    settings: Settings,
    options: DemoOptions,
    endpoint: RedisEndpoint,
    sandbox: Sandbox,
    console: Console,
) -> int:
    database_url = settings.database.resolved_url()
    async with Store.open(database_url, require_schema=False) as store:
        await store.migrate()
        user, api_key = await store.users.create(
            f"demo-{secrets.token_hex(3)}@simcrm.local", Role.BOSS
        )
        simulations = Simulations.from_settings(settings, store)
        sim = await simulations.create(user.id, _definition(options))
        async with _serve_api(settings, endpoint.url, options.port) as url:
            console.print(f"dashboard {url}  (sign in with the API key below)")
            console.print(f"API key   {api_key}\n")
            async with Engine(settings, redis_url=endpoint.url) as engine:
                started = time.monotonic()
                await simulations.start(sim.id)
                runner = asyncio.create_task(engine.run())
                try:
                    status = await _watch(engine, store, sim.id, options.records, console)
                finally:
                    engine.request_stop()
                    await runner
                elapsed = time.monotonic() - started
                summary = await _summary(engine, sandbox, sim.id, status, elapsed, url, api_key)
            render_summary(console, summary)
            if options.serve:
                console.print("\nThe dashboard stays up; press Ctrl-C to stop.")
                await asyncio.Event().wait()
    duplicates = sum(summary.duplicates.values())
    return 0 if status is SimulationStatus.COMPLETED and duplicates == 0 else 1


def _definition(options: DemoOptions) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    if options.time_scale is None:
        start, end = now - timedelta(days=7), now
    else:
        start, end = now, now + timedelta(days=1)
    return {
        "name": "SimCRM demo",
        "scenario": options.scenario,
        "distribution_method": options.distribution,
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        "total_records": options.records,
        "backfill": options.time_scale is None,
        "time_scale": options.time_scale or 1,
        "target": "sandbox",
    }


async def _watch(
    engine: Engine, store: Store, sim_id: int, records: int, console: Console
) -> SimulationStatus:
    keys = SimKeys(sim_id, engine.settings.redis.key_prefix)
    with LiveProgress(console) as progress:
        while True:
            progress.update(await metrics.read(engine.redis, keys), records)
            status = (await store.simulations.get(sim_id)).status
            if status.is_final:
                progress.update(await metrics.read(engine.redis, keys), records)
                return status
            await asyncio.sleep(POLL_S)


async def _summary(
    engine: Engine,
    sandbox: Sandbox,
    sim_id: int,
    status: SimulationStatus,
    elapsed: float,
    url: str,
    api_key: str,
) -> Summary:
    stats = sandbox.stats()
    keys = SimKeys(sim_id, engine.settings.redis.key_prefix)
    dead = await engine.queue.dead_letters.scope(str(sim_id))
    return Summary(
        counts=await metrics.read(engine.redis, keys),
        stored=stats.objects,
        duplicates=stats.duplicates,
        rate_limited=stats.rate_limited_total,
        dead_letters=dead.total,
        requests=stats.requests,
        peak_10s=stats.peak_10s,
        limit_10s=stats.limit_10s,
        elapsed_s=elapsed,
        status=status.value,
        dashboard_url=url,
        api_key=api_key,
    )


@contextlib.asynccontextmanager
async def _serve_api(settings: Settings, redis_url: str, port: int) -> AsyncIterator[str]:
    """The API and dashboard on 127.0.0.1 (``port``, or any free one when it is taken)."""
    app = create_app(settings, redis_url=redis_url, database_url=settings.database.resolved_url())
    runner = ApiRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        try:
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
        except OSError:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
        host, bound = runner.addresses[0][:2]
        yield f"http://{host}:{bound}/"
    finally:
        await runner.cleanup()


async def _forget(endpoint: RedisEndpoint, prefix: str) -> None:
    """Remove every key the demo made (its prefix is its own)."""
    client = await connect_redis(endpoint.url)
    try:
        batch: list[Any] = []
        async for key in client.scan_iter(match=f"{prefix}:*", count=1_000):
            batch.append(key)
            if len(batch) >= 1_000:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()
