"""``simcrm limits reset ACCOUNT``: forget an account's rate-limit state."""

from __future__ import annotations

import argparse
import re
from typing import Any

from cli.connections import open_redis
from engine.settings import Settings
from limits import Limiter

_ACCOUNT = re.compile(r"^[0-9]{1,20}$")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "limits",
        help="show or reset an account's rate-limit state",
        description="The rate limiter's state per HubSpot account (portal), kept in Redis.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    reset = actions.add_parser(
        "reset",
        help="forget an account's windows, buckets, cooldown and breaker",
        description=(
            "Delete the limiter state of HubSpot account ACCOUNT (its numeric portal id): the "
            "burst and search windows, the buckets, the daily count, a 429 cooldown and the "
            "circuit breaker. For a breaker or cooldown known to be stale; every worker sees "
            "the fresh state on its next request."
        ),
    )
    reset.add_argument("account", metavar="ACCOUNT", help="HubSpot's portal id (digits)")
    reset.set_defaults(handler=reset_limits)


async def reset_limits(args: argparse.Namespace, settings: Settings) -> int:
    account = str(args.account).strip()
    if not _ACCOUNT.match(account):
        print(f"simcrm: ACCOUNT must be HubSpot's numeric portal id (got {account!r})")
        return 2
    async with open_redis(settings) as redis:
        limiter = Limiter(redis, settings.limits.config())
        await limiter.load()
        before = await limiter.state(account)
        await limiter.reset(account)
    cooldown = "none" if before.cooldown_until_ms is None else f"until {before.cooldown_until_ms}"
    print(
        f"reset the limits of account {account} (breaker was {before.breaker}, cooldown "
        f"{cooldown}, {before.window_used} request(s) in the burst window)"
    )
    return 0
