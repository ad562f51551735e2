"""``simcrm dlq purge SIM``: delete a simulation's dead letters for good, after a dry run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.connections import open_redis
from engine.runtime.outcomes import DeadLetterCategory
from engine.settings import Settings
from schema.store import Store
from streams import Queue
from streams.errors import ReshardInProgress, ShardCountMismatch
from streams.shardcount import claim_shard_count

CATEGORIES = [category.value for category in DeadLetterCategory]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dlq",
        help="purge dead letters",
        description="Work on the dead-letter queue directly (Redis), as an operator.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    purge = actions.add_parser(
        "purge",
        help="delete a simulation's dead letters (a dry run unless --yes)",
        description=(
            "Delete simulation SIM's dead letters for good: they can no longer be replayed (the "
            "simulation's dead count keeps them). Without --yes nothing is deleted: the command "
            "lists what would go, by category. Replay what is worth replaying first "
            "(`simcrm sim replay`)."
        ),
    )
    purge.add_argument("simulation", type=int, metavar="SIM", help="the simulation's id")
    purge.add_argument(
        "--categories",
        default=None,
        metavar="LIST",
        help=f"only these categories, comma-separated ({', '.join(CATEGORIES)}); default all",
    )
    purge.add_argument("--yes", action="store_true", help="delete (default: dry run)")
    purge.set_defaults(handler=purge_dead_letters)


async def purge_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    wanted = None
    if args.categories:
        wanted = [name.strip() for name in str(args.categories).split(",") if name.strip()]
        unknown = sorted(set(wanted) - set(CATEGORIES))
        if unknown:
            print(f"simcrm: --categories: unknown {', '.join(unknown)}; choose from {CATEGORIES}")
            return 2
    async with Store.open(settings.database.resolved_url()) as store:
        row = await store.simulations.get(args.simulation)  # NotFound: a one-line error, exit 1
    async with open_redis(settings) as redis:
        queue = Queue(redis, settings.queue_config())
        try:  # the dead letters are where the queue's own shard count puts them
            await claim_shard_count(redis, queue.keys)
        except (ShardCountMismatch, ReshardInProgress) as exc:
            print(f"simcrm: {exc}", file=sys.stderr)
            return 2
        counts = (await queue.dead_letters.scope(str(row.id))).counts
        selected = {c: n for c, n in counts.items() if wanted is None or c in wanted}
        if not selected:
            print(f"simulation {row.id} has no dead letters to purge")
            return 0
        for category, count in sorted(selected.items()):
            print(f"{category:>12}  {count:,}")
        if not args.yes:
            print(f"dry run: {sum(selected.values()):,} dead letter(s) would go; add --yes")
            return 0
        await queue.open()
        purged = await queue.dead_letters.purge(str(row.id), categories=wanted)
    print(f"purged {purged:,} dead letter(s) of simulation {row.id}")
    return 0
