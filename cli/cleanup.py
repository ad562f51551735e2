"""``simcrm cleanup SIM``: archive in the CRM exactly what one simulation created."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from engine.cleanup import (
    CleanupRefused,
    archive_all,
    check_can_clean,
    forget_cleaned,
    recorded_objects,
)
from engine.crm import CrmError, HubSpotTransport, ObjectType
from engine.redis_endpoint import connect_redis, redis_endpoint
from engine.runtime.keys import SimKeys
from engine.settings import Settings
from engine.simulations import Portals, TargetUnavailable
from limits import Limiter
from schema.simulations import Simulation
from schema.store import Store
from streams import Queue


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cleanup",
        help="archive everything one simulation created in the CRM",
        description=(
            "Archive (HubSpot batch/archive) every object simulation SIM created — contacts, "
            "companies, deals, notes, calls, tasks, tickets — and nothing else. The ids come from "
            "what the workers recorded as they created each object. Archived ids are forgotten "
            "as it goes, so running it again after an interruption finishes the job; once all are "
            "archived, the simulation's Redis state and dead letters are removed. Only a "
            "simulation that has ended is cleaned up: cancel it or let it finish first."
        ),
    )
    parser.add_argument("simulation", type=int, metavar="SIM", help="the simulation's id")
    parser.add_argument("--dry-run", action="store_true", help="count, archive nothing")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console()
    async with Store.open(settings.database.resolved_url()) as store:
        row = await store.simulations.get(args.simulation)
        try:
            check_can_clean(row.status)
        except CleanupRefused as exc:
            print(f"simcrm: simulation {row.id}: {exc}", file=sys.stderr)
            return 1
        keys = SimKeys(row.id, settings.redis.key_prefix)
        with redis_endpoint(settings) as endpoint:
            redis = await connect_redis(endpoint.url)
            try:
                objects = await recorded_objects(redis, keys)
                total = sum(len(ids) for ids in objects.values())
                for object_type, ids in objects.items():
                    if ids:
                        console.print(f"{object_type.path:>10}  {len(ids):,}")
                if total == 0:
                    if not args.dry_run:
                        queue = Queue(redis, settings.queue_config())
                        await forget_cleaned(redis, store, queue, keys)
                    console.print(f"simulation {row.id} has no recorded objects left to archive")
                    return 0
                if args.dry_run:
                    console.print(f"{total:,} objects would be archived (dry run)")
                    return 0
                if not args.yes and not _confirm(row.id, total):
                    console.print("nothing archived")
                    return 1
                archived = await _archive(settings, store, redis, row, keys, objects, console)
                if archived is not None:
                    await forget_cleaned(redis, store, Queue(redis, settings.queue_config()), keys)
            finally:
                await redis.aclose()
    if archived is None:
        return 1
    console.print(f"archived {archived:,} objects of simulation {row.id}")
    return 0


async def _archive(
    settings: Settings,
    store: Store,
    redis: Any,
    row: Simulation,
    keys: SimKeys,
    objects: dict[ObjectType, dict[str, str]],
    console: Console,
) -> int | None:
    """Archive through the rate limiter (waiting when it says so); None when HubSpot refused."""
    limiter = Limiter(redis, settings.limits.config())
    await limiter.load()
    total = sum(len(ids) for ids in objects.values())
    async with (
        HubSpotTransport.from_settings(settings, limiter=limiter, wait_for_limits=True) as hubspot,
        HubSpotTransport.from_settings(
            settings,
            limiter=limiter,
            wait_for_limits=True,
            base_url=settings.runtime.sandbox_url,
        ) as sandbox,
    ):
        progress = Progress(
            TextColumn("archiving"), BarColumn(), MofNCompleteColumn(), console=console
        )
        try:
            portals = Portals.from_settings(settings, store, hubspot=hubspot, sandbox=sandbox)
            target = await portals.target(row)
            with progress:
                task = progress.add_task("archive", total=total)
                result = await archive_all(
                    redis, keys, target.portal, objects, lambda _t, n: progress.advance(task, n)
                )
        except (TargetUnavailable, CrmError) as exc:
            print(f"simcrm: cleanup stopped: {exc}", file=sys.stderr)
            return None
    return result.total


def _confirm(sim_id: int, total: int) -> bool:
    if not sys.stdin.isatty():
        print("simcrm: add --yes to archive without a terminal to confirm on", file=sys.stderr)
        return False
    answer = input(f"Archive {total:,} objects of simulation {sim_id} in the CRM? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}
