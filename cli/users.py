"""``simcrm users``: create and list the people who may use the API."""

from __future__ import annotations

import argparse
import re
from typing import Any

import orjson

from cli.keys import announce_change, find_user
from engine.settings import Settings
from schema.crypto import TokenCipher
from schema.store import Store
from schema.users import Role

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "users",
        help="create and list API users",
        description="Manage the users who call the API. Each user authenticates with an API key.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser(
        "create",
        help="create a user and print their API key once",
        description=(
            "Create a user and print their new API key. The key is shown this one time: only its "
            "hash is stored, so it cannot be shown again."
        ),
    )
    create.add_argument("--email", required=True, help="the user's email address (unique)")
    create.add_argument(
        "--boss",
        action="store_true",
        help="make the user a boss: sees every simulation, the dead letters and replay",
    )
    create.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    create.set_defaults(handler=create_user)

    rotate = actions.add_parser(
        "rotate-tokens",
        help="re-encrypt stored HubSpot tokens with the current TOKEN_ENC_SECRET",
        description=(
            "Re-encrypt every stored HubSpot token that is not yet sealed with the current "
            "TOKEN_ENC_SECRET. Set the new key as TOKEN_ENC_SECRET and the old one in "
            "TOKEN_ENC_OLD_SECRETS, run this, then drop the old key."
        ),
    )
    rotate.set_defaults(handler=rotate_tokens)

    for action, disabled, text in (
        ("disable", True, "disable a user: their API key stops working at once"),
        ("enable", False, "enable a disabled user again"),
    ):
        switch = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        switch.add_argument("user", metavar="USER", help="the user's id or email")
        switch.set_defaults(handler=set_disabled, disabled=disabled)

    listing = actions.add_parser("list", help="list users", description="List every user.")
    listing.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    listing.set_defaults(handler=list_users)


async def create_user(args: argparse.Namespace, settings: Settings) -> int:
    email = str(args.email).strip()
    if not _EMAIL.match(email):
        print(f"simcrm: --email must be an email address like name@example.com (got {email!r})")
        return 2
    role = Role.BOSS if args.boss else Role.MEMBER
    async with Store.open(settings.database.resolved_url()) as store:
        user, api_key = await store.users.create(email, role)
    if args.json:
        record = {"id": user.id, "email": user.email, "role": user.role, "api_key": api_key}
        print(orjson.dumps(record).decode())
    else:
        print(f"Created user {user.id} <{user.email}> with role {user.role}.")
        print(f"API key (shown once, keep it safe): {api_key}")
    return 0


async def list_users(args: argparse.Namespace, settings: Settings) -> int:
    async with Store.open(settings.database.resolved_url()) as store:
        everyone = await store.users.list()
    for user in everyone:
        if args.json:
            record = {
                "id": user.id,
                "email": user.email,
                "role": user.role,
                "created_at": user.created_at.isoformat(),
                "disabled": user.disabled,
                "has_key": user.has_key,
            }
            print(orjson.dumps(record).decode())
        else:
            state = "disabled" if user.disabled else ("no key" if not user.has_key else "")
            print(f"{user.id:>6}  {user.role:<6}  {user.email}  {state}".rstrip())
    return 0


async def set_disabled(args: argparse.Namespace, settings: Settings) -> int:
    async with Store.open(settings.database.resolved_url()) as store:
        user = await find_user(store, args.user)
        changed = None if user is None else await store.users.set_disabled(user.id, args.disabled)
    if changed is None:
        return 1
    await announce_change(settings)
    print(f"user {changed.id} <{changed.email}> is {'disabled' if changed.disabled else 'enabled'}")
    return 0


async def rotate_tokens(_args: argparse.Namespace, settings: Settings) -> int:
    keys = settings.security.token_keys()
    if not keys:
        print("simcrm: TOKEN_ENC_SECRET must be set to re-encrypt tokens")
        return 2
    async with Store.open(settings.database.resolved_url()) as store:
        count = await store.credentials.reencrypt(TokenCipher(keys))
    print(f"re-encrypted {count} token(s) with key {TokenCipher(keys).current_key_id}")
    return 0
