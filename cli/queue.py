"""``simcrm queue``: the queue's shard count — show it, and move the queue to another one."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.connections import open_redis
from engine.settings import Settings
from streams.errors import ConfigError, ReshardRefused
from streams.keys import MAX_SHARDS, QueueKeys
from streams.members import live_members
from streams.reshard import reshard
from streams.shardcount import reshard_underway, stored_shard_count


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "queue",
        help="show the queue's shard count, or change it",
        description=(
            "The job queue's shard count is stored in Redis by the first process that opens the "
            "queue; every daemon and API compares its SIMCRM_QUEUE_SHARDS (or --shards) with it "
            "and refuses to start on a mismatch."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "shards",
        help="show the stored shard count and the processes using the queue",
        description="Show the stored shard count, a reshard underway, and the processes "
        "registered as using the queue.",
    )
    show.set_defaults(handler=show_shards)
    move = actions.add_parser(
        "reshard",
        help="move every queued job and dead letter to N shards",
        description=(
            "Move the queue to N shards: ready jobs (those a dead consumer still held too), "
            "delayed jobs with their due times, and dead letters with their counts and samples "
            "go to the shard their simulation has under N; nothing is lost or doubled, and "
            "running it again after an interruption finishes the move. It refuses while any "
            "daemon or API is running (it names them): stop them, reshard, then start them "
            "again with SIMCRM_QUEUE_SHARDS=N."
        ),
    )
    move.add_argument("shards", type=int, metavar="N", help=f"the new count, 1 to {MAX_SHARDS}")
    move.set_defaults(handler=move_shards)


async def show_shards(_args: argparse.Namespace, settings: Settings) -> int:
    keys = QueueKeys(settings.queue.shards, settings.redis.key_prefix)
    async with open_redis(settings) as redis:
        stored = await stored_shard_count(redis, keys)
        underway = await reshard_underway(redis, keys)
        members = await live_members(redis, keys)
    print(f"shards: {'not stored yet' if stored is None else stored}  ({keys.shard_count})")
    print(f"this environment: SIMCRM_QUEUE_SHARDS={settings.queue.shards}")
    if underway is not None:
        print(f"reshard underway: {underway[0]} -> {underway[1]}")
    for name, left_ms in members:
        print(f"member: {name}  (registration lapses in {max(0, left_ms) // 1000} s)")
    return 0


async def move_shards(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.shards <= MAX_SHARDS:
        print(f"simcrm: N must be from 1 to {MAX_SHARDS} (got {args.shards})", file=sys.stderr)
        return 2
    config = settings.queue_config()
    async with open_redis(settings) as redis:
        try:
            result = await reshard(redis, config, args.shards, assume_current=settings.queue.shards)
        except (ReshardRefused, ConfigError) as exc:
            print(f"simcrm: reshard refused: {exc}", file=sys.stderr)
            return 1
    if result.source == result.target:
        print(f"the queue has {result.target} shard(s) already; nothing to move")
    else:
        print(
            f"moved the queue from {result.source} to {result.target} shard(s): "
            f"{result.ready} ready, {result.delayed} delayed, {result.dead} dead letter(s) "
            f"changed shard. Start every daemon and API with SIMCRM_QUEUE_SHARDS={result.target}."
        )
    return 0
