"""``simcrm keys rotate|revoke USER``: replace or withdraw a user's API key, effective at once."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from api.keyring import KeyEpoch
from cli.connections import open_redis
from engine.settings import Settings
from schema.store import Store
from schema.users import User

USER_HELP = "the user's id or email"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "keys",
        help="rotate or revoke a user's API key",
        description=(
            "Each user holds one API key. Rotating prints a new one (once) and the old one stops "
            "working; revoking leaves the user without a working key until the next rotation. "
            "Either takes effect on the API's next request."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    rotate = actions.add_parser("rotate", help="give the user a new key, printed once")
    rotate.add_argument("user", metavar="USER", help=USER_HELP)
    rotate.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    rotate.set_defaults(handler=rotate_key)
    revoke = actions.add_parser("revoke", help="withdraw the user's key (a leaked key, say)")
    revoke.add_argument("user", metavar="USER", help=USER_HELP)
    revoke.set_defaults(handler=revoke_key)


async def find_user(store: Store, who: str) -> User | None:
    user = await store.users.find(who)
    if user is None:
        print(f"simcrm: no user {who!r} (give an id or an email; `simcrm users list` lists them)")
    return user


async def announce_change(settings: Settings) -> None:
    """Tell every API process to check remembered keys again (see api.keyring)."""
    async with open_redis(settings) as redis:
        if not await KeyEpoch(redis, settings.redis.key_prefix).bump():
            print("warning: Redis did not answer; running APIs notice within a few seconds")


async def rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    async with Store.open(settings.database.resolved_url()) as store:
        user = await find_user(store, args.user)
        api_key = None if user is None else await store.users.rotate_key(user.id)
    if user is None or api_key is None:
        return 1
    await announce_change(settings)
    if args.json:
        print(orjson.dumps({"id": user.id, "email": user.email, "api_key": api_key}).decode())
    else:
        print(f"New API key of user {user.id} <{user.email}> (shown once): {api_key}")
    return 0


async def revoke_key(args: argparse.Namespace, settings: Settings) -> int:
    async with Store.open(settings.database.resolved_url()) as store:
        user = await find_user(store, args.user)
        if user is None or not await store.users.revoke_key(user.id):
            return 1
    await announce_change(settings)
    print(f"revoked the API key of user {user.id} <{user.email}>")
    return 0
