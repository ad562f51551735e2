"""The shard count, kept once in Redis so that every process agrees on it.

A scope's shard is ``fnv1a_32(scope) % shards``: two processes with different counts look for
the same scope's jobs and dead letters on different shards. So the first process to open the
queue stores its count (``SET NX`` on :attr:`QueueKeys.shard_count`), and every later one compares
its own with it and refuses to start on a mismatch (:class:`ShardCountMismatch`, naming both
numbers and the fix). While a reshard runs (or was interrupted) nothing may start
(:class:`ReshardInProgress`). Changing the count is ``simcrm queue reshard N``
(:mod:`streams.reshard`).
"""

from __future__ import annotations

from typing import Any

from streams.errors import ReshardInProgress, ShardCountMismatch
from streams.keys import QueueKeys


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


async def stored_shard_count(client: Any, keys: QueueKeys) -> int | None:
    """The count stored in Redis, or None before any process stored one."""
    raw = await client.get(keys.shard_count)
    return None if raw is None else int(_text(raw))


async def reshard_underway(client: Any, keys: QueueKeys) -> tuple[int, int] | None:
    """``(from, to)`` of a reshard that runs or was interrupted, else None."""
    raw = await client.get(keys.reshard)
    if raw is None:
        return None
    source, _, target = _text(raw).partition(":")
    return int(source), int(target)


async def claim_shard_count(client: Any, keys: QueueKeys) -> int:
    """Store ``keys.shards`` as the queue's count if none is stored yet; return the count.

    Raises:
        ShardCountMismatch: another count is stored.
        ReshardInProgress: a reshard has not finished.
    """
    underway = await reshard_underway(client, keys)
    if underway is not None:
        raise ReshardInProgress(*underway, keys.reshard)
    await client.set(keys.shard_count, keys.shards, nx=True)
    stored = await stored_shard_count(client, keys)
    if stored is not None and stored != keys.shards:
        raise ShardCountMismatch(stored, keys.shards, keys.shard_count)
    return keys.shards
