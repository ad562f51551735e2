"""``simcrm migrate``: create or upgrade the database schema."""

from __future__ import annotations

import argparse
from typing import Any

from engine.settings import Settings
from schema.db import describe_url
from schema.store import Store


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "migrate",
        help="create or upgrade the database schema",
        description=(
            "Create the SimCRM tables in the database named by DATABASE_URL (default: the SQLite "
            "file ./simcrm.db; DB_HOST, DB_PORT, DB_USER, DB_PASS and DB_NAME make a MySQL URL), "
            "or upgrade them to this version. Running it again changes nothing."
        ),
    )
    parser.set_defaults(handler=run)


async def run(_args: argparse.Namespace, settings: Settings) -> int:
    url = settings.database.resolved_url()
    async with Store.open(url, require_schema=False) as store:
        before, after = await store.migrate()
    where = describe_url(url)
    if before == after:
        print(f"{where}: schema already at revision {after}")
    else:
        print(f"{where}: schema migrated from {before or 'empty'} to revision {after}")
    return 0
