"""``simcrm tokens``: your HubSpot private-app token, stored through the API (encrypted there).

``add`` reads the token from a hidden prompt, or from the first line of standard input with
``--from-stdin`` — never from the command line, where it would land in the shell's history and in
the process list. The API checks it with HubSpot before storing it. ``list`` and ``remove`` show
only its last four characters.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from cli.api_client import ApiClient, ApiFailure
from engine.settings import Settings

PATH = "/api/me/hubspot-token"
Action = Callable[[ApiClient, argparse.Namespace], Awaitable[int]]


class NoToken(Exception):
    """No token could be read (empty input, or no terminal to prompt on)."""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "tokens",
        help="store, show or remove your HubSpot token (through the API)",
        description=(
            "Your HubSpot private-app token, kept encrypted by the API (SIMCRM_API_URL, "
            "SIMCRM_API_KEY) for simulations that target HubSpot. The token is read from a "
            "hidden prompt or from standard input, never from the command line, and is never "
            "shown again: only its last four characters."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="store your token (replaces the one stored)",
        description=(
            "Read the token from a hidden prompt (or, with --from-stdin, from the first line of "
            "standard input: `simcrm tokens add --from-stdin < token.txt`), have the API check "
            "it with HubSpot, and store it. A token HubSpot rejects is not stored."
        ),
    )
    add.add_argument(
        "--from-stdin", action="store_true", help="read the token from standard input, no prompt"
    )
    _common(add, run_add)
    listing = actions.add_parser("list", help="show the stored token's last four characters")
    _common(listing, run_list)
    remove = actions.add_parser("remove", help="delete the stored token")
    _common(remove, run_remove)


def _common(parser: argparse.ArgumentParser, action: Action) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    parser.set_defaults(handler=_runner(action))


def _runner(action: Action) -> Callable[[argparse.Namespace, Settings], Awaitable[int]]:
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        if settings.api.key is None:
            print("simcrm: set SIMCRM_API_KEY to your API key (`simcrm users create` prints one)")
            return 2
        try:
            async with ApiClient(settings.api.url, settings.api.key) as client:
                return await action(client, args)
        except NoToken as exc:
            print(f"simcrm: {exc}")
            return 2
        except ApiFailure as exc:
            print(f"simcrm: {exc}")
            return 1

    return run


def read_token(from_stdin: bool) -> str:
    """The token, from standard input's first line or a prompt that does not echo it."""
    if from_stdin:
        token = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        token = getpass.getpass("HubSpot token (not shown): ").strip()
    else:
        raise NoToken("no terminal to prompt on: pipe the token in with --from-stdin")
    if not token:
        raise NoToken("no token given")
    return token


def _describe(info: dict[str, Any]) -> str:
    portal = info.get("portalId")
    account = f"HubSpot account {portal}" if portal is not None else "an unknown HubSpot account"
    return f"token ending …{info['last4']} for {account}, stored {info['updatedAt'][:19]}Z"


async def run_add(client: ApiClient, args: argparse.Namespace) -> int:
    token = read_token(args.from_stdin)
    info = await client.call("PUT", PATH, {"token": token})
    if args.json:
        print(orjson.dumps(info).decode())
    else:
        print(f"Stored the {_describe(info)}.")
    return 0


async def run_list(client: ApiClient, args: argparse.Namespace) -> int:
    try:
        info = await client.call("GET", PATH)
    except ApiFailure as exc:
        if exc.status != 404:
            raise
        print("[]" if args.json else "No HubSpot token stored.")
        return 0
    print(orjson.dumps([info]).decode() if args.json else f"One {_describe(info)}.")
    return 0


async def run_remove(client: ApiClient, args: argparse.Namespace) -> int:
    try:
        await client.call("DELETE", PATH)
    except ApiFailure as exc:
        if exc.status != 404:
            raise
        print("simcrm: no HubSpot token is stored")
        return 1
    print('{"removed": true}' if args.json else "Removed your HubSpot token.")
    return 0
