"""Which shard a scope's jobs live on: ``fnv1a_32(scope) % shards``.

FNV-1a (32-bit) over the UTF-8 bytes of the scope. It is stable across processes, machines and
Python versions (unlike ``hash()``), so every producer and consumer agrees on the shard. Changing
the shard count remaps scopes: drain the queue before changing it.
"""

from __future__ import annotations

FNV_OFFSET_BASIS = 0x811C9DC5
FNV_PRIME = 0x01000193


def fnv1a_32(text: str) -> int:
    """The 32-bit FNV-1a hash of ``text`` encoded as UTF-8."""
    value = FNV_OFFSET_BASIS
    for byte in text.encode():
        value = ((value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return value


def shard_for(scope: str, shards: int) -> int:
    """The shard (``0 <= k < shards``) that holds every job and dead letter of ``scope``."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    return fnv1a_32(scope) % shards
