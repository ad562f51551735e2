"""Deterministic randomness derived from ``(seed, stream, index)``, never from Python's ``hash()``.

Two kinds of source, both identical in every process and on every machine:

* :func:`mix64` is the SplitMix64 finaliser, a bijection on 64-bit integers with good avalanche.
  :class:`Stream` uses it as a counter-based generator: the ``k``-th draw for index ``i`` is
  ``mix64(base + i·φ + k)`` with ``base`` derived from the seed and the stream's name. It costs one
  integer hash per draw and needs no state per record, which is what makes the schedule and the
  record contents pure functions of ``(seed, index)``.
* :func:`keyed_random` builds a :class:`random.Random` from a text key (hashed with SHA-512 by the
  standard library). It is used where many draws of varied kinds are needed for one key — the
  activities of a record, keyed ``"{sim_id}:{record_index}"`` and salted with the seed.

Each concern (arrival times, identity, activity plans) has its own stream name, so adding an
activity type never changes a contact's name.
"""

from __future__ import annotations

import random
from hashlib import blake2b

MASK64 = (1 << 64) - 1
GOLDEN64 = 0x9E3779B97F4A7C15
_TO_UNIT = 1.0 / (1 << 53)


def mix64(value: int) -> int:
    """SplitMix64's output function: a well-mixed 64-bit integer from any 64-bit integer."""
    z = (value + GOLDEN64) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def stream_base(seed: int, name: str) -> int:
    """The 64-bit base of the stream called ``name`` for ``seed`` (stable across processes)."""
    digest = blake2b(f"simcrm:{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class Stream:
    """A counter-based source of uniforms: ``unit(i, k)`` is the ``k``-th draw of index ``i``.

    Pure: the same ``(seed, name, i, k)`` gives the same value; draws for different indices or
    counters are independent for all practical purposes.
    """

    __slots__ = ("_base",)

    def __init__(self, seed: int, name: str) -> None:
        self._base = stream_base(seed, name)

    def bits(self, index: int, k: int = 0) -> int:
        """64 random bits (``mix64`` inlined: this is the hottest function of the model)."""
        z = (self._base + index * GOLDEN64 + k * 0xD1B54A32D192ED03 + GOLDEN64) & MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def unit(self, index: int, k: int = 0) -> float:
        """A uniform float in ``[0, 1)`` with 53 random bits."""
        return (self.bits(index, k) >> 11) * _TO_UNIT

    def below(self, index: int, k: int, n: int) -> int:
        """A uniform integer in ``[0, n)`` (``n`` far below 2**64, so the bias is negligible)."""
        return self.bits(index, k) % n


def keyed_random(seed: int, key: str) -> random.Random:
    """A :class:`random.Random` seeded from ``key`` salted with ``seed`` (SHA-512 of the text)."""
    return random.Random(f"simcrm:{seed}:{key}")
