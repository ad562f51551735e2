"""``simcrm doctor``: check that the settings, the database and Redis are usable."""

from __future__ import annotations

import argparse
import secrets
import time
from typing import Any

from engine.redis_endpoint import connect_redis, redis_endpoint
from engine.settings import Settings
from schema import migrate
from schema.db import describe_url
from schema.store import Store


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check the settings, the database and Redis",
        description=(
            "Read the settings, open the database and check its schema revision, find Redis "
            "(REDIS_URL, else localhost:6379, else an embedded server) and make a round trip. "
            "Exits 1 when something is not usable."
        ),
    )
    parser.set_defaults(handler=run)


async def run(_args: argparse.Namespace, settings: Settings) -> int:
    healthy = await _check_database(settings)
    healthy = await _check_redis(settings) and healthy
    tokens = (
        "set" if settings.security.token_enc_secret else "not set (HubSpot tokens cannot be stored)"
    )
    print(f"settings  TOKEN_ENC_SECRET {tokens}; shards {settings.queue.shards}")
    print("all good" if healthy else "problems found")
    return 0 if healthy else 1


async def _check_database(settings: Settings) -> bool:
    url = settings.database.resolved_url()
    try:
        async with Store.open(url, require_schema=False) as store:
            started = time.perf_counter()
            await store.ping()
            elapsed_ms = (time.perf_counter() - started) * 1000
            current = await migrate.current_revision(store.engine)
    except Exception as exc:
        print(f"database  {describe_url(url)}: unreachable: {type(exc).__name__}: {exc}")
        return False
    head = migrate.head_revision()
    if current != head:
        print(
            f"database  {describe_url(url)}: at revision {current or 'empty'}, needs {head}; "
            "run `simcrm migrate`"
        )
        return False
    print(f"database  {describe_url(url)}: schema {head}, round trip {elapsed_ms:.1f} ms")
    return True


async def _check_redis(settings: Settings) -> bool:
    try:
        with redis_endpoint(settings) as endpoint:
            client = await connect_redis(endpoint.url)
            try:
                key = f"simcrm:doctor:{secrets.token_hex(8)}"
                started = time.perf_counter()
                await client.set(key, b"ok", px=10_000)
                value = await client.get(key)
                await client.delete(key)
                elapsed_ms = (time.perf_counter() - started) * 1000
                version = (await client.info("server")).get("redis_version", "?")
            finally:
                await client.aclose()
    except Exception as exc:
        print(f"redis     unusable: {type(exc).__name__}: {exc}")
        return False
    if value != b"ok":
        print(f"redis     {endpoint.describe()}: a written key did not read back")
        return False
    print(
        f"redis     {endpoint.describe()} ({endpoint.source}, Redis {version}): "
        f"round trip {elapsed_ms:.1f} ms"
    )
    return True
