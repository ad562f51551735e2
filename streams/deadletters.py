"""Dead letters: inspect, summarise, replay and purge.

Each shard has one dead-letter stream (entries: ``job``, ``scope``, ``category``, ``error``,
``attempts``, ``failed_at``); beside it, per scope, a hash of counts by category (always equal to
what the stream holds for the scope) and a capped list of the newest samples (a history: replay
does not remove samples, purge does). Nothing leaves the stream except by :meth:`replay` or
:meth:`purge`.

A replay selects a scope's dead letters (optionally by category), oldest first, up to ``limit``
(never more than ``replay_limit_cap``), and puts each back on its ready stream as attempt 1, with
one attempt, or with the type's whole retry policy when ``full_retry``. A dry run reports the
selection by category and moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from core.lua import KeyList, KeyOrArg
from streams.context import QueueContext
from streams.job import Job, decode_job
from streams.outcomes import check_category

SCAN_PAGE = 500


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """One dead letter as stored."""

    entry_id: str
    job: Job
    category: str
    error: str
    attempts: int
    failed_at_ms: int


@dataclass(frozen=True, slots=True)
class ScopeDeadLetters:
    """A scope's dead letters by category, and its newest samples (newest first)."""

    scope: str
    counts: Mapping[str, int]
    samples: tuple[Mapping[str, Any], ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class DeadLetterSummary:
    """Dead letters over every scope: totals by category and counts per scope."""

    total: int
    by_category: Mapping[str, int]
    scopes: Mapping[str, Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay selected (by category) and, unless ``dry_run``, what it moved.

    ``selected`` counts every matching dead letter; a real replay moves at most ``limit`` of them:
    ``replayed`` were re-enqueued, ``already_live`` were dropped from the dead-letter stream
    because a job with the same id is queued again already. ``jobs`` are the jobs of both: every
    dead letter this replay took out of the dead-letter stream.
    """

    scope: str
    dry_run: bool
    limit: int
    selected: Mapping[str, int] = field(default_factory=dict)
    replayed: int = 0
    already_live: int = 0
    jobs: tuple[Job, ...] = ()

    @property
    def selected_total(self) -> int:
        return sum(self.selected.values())


def parse_categories(categories: Iterable[str] | None) -> frozenset[str] | None:
    """Categories as plain strings; None (or empty) means all. A name that cannot be a category
    raises ValueError; one no dead letter carries selects nothing."""
    if categories is None:
        return None
    chosen = set()
    for item in categories:
        try:
            chosen.add(check_category(item))
        except ValueError as exc:
            raise ValueError(f"categories: {exc}") from None
    return frozenset(chosen) or None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _int_map(raw: Mapping[Any, Any]) -> dict[str, int]:
    return {_text(k): int(v) for k, v in raw.items() if int(v) > 0}


class DeadLetters:
    """Reads, replays and purges the dead letters of one queue (see the module docstring)."""

    def __init__(self, ctx: QueueContext) -> None:
        self._ctx = ctx

    async def scope(self, scope: str) -> ScopeDeadLetters:
        """Counts by category and the newest samples of ``scope``."""
        pipe = self._ctx.client.pipeline(transaction=False)
        pipe.hgetall(self._ctx.keys.dead_counts(scope))
        pipe.lrange(self._ctx.keys.dead_samples(scope), 0, self._ctx.config.dead_sample_max - 1)
        counts, samples = await pipe.execute()
        return ScopeDeadLetters(
            scope, _int_map(counts), tuple(orjson.loads(sample) for sample in samples)
        )

    async def summary(self) -> DeadLetterSummary:
        """Dead letters of every scope on every shard."""
        pipe = self._ctx.client.pipeline(transaction=False)
        for shard in range(self._ctx.keys.shards):
            pipe.hgetall(self._ctx.keys.dead_scopes(shard))
        scopes = [_text(s) for per_shard in await pipe.execute() for s in per_shard]
        by_scope: dict[str, dict[str, int]] = {}
        if scopes:
            pipe = self._ctx.client.pipeline(transaction=False)
            for scope in scopes:
                pipe.hgetall(self._ctx.keys.dead_counts(scope))
            for scope, counts in zip(scopes, await pipe.execute(), strict=True):
                if counts := _int_map(counts):
                    by_scope[scope] = counts
        by_category: dict[str, int] = {}
        for counts in by_scope.values():
            for category, count in counts.items():
                by_category[category] = by_category.get(category, 0) + count
        return DeadLetterSummary(sum(by_category.values()), by_category, by_scope)

    async def entries(
        self,
        scope: str,
        *,
        categories: Iterable[str] | None = None,
        limit: int = 100,
    ) -> list[DeadLetterEntry]:
        """The oldest ``limit`` dead letters of ``scope`` (optionally of ``categories``)."""
        wanted = parse_categories(categories)
        stream = self._ctx.keys.dead(self._ctx.keys.shard_of(scope))
        found: list[DeadLetterEntry] = []
        start = "-"
        while len(found) < limit:
            page = await self._ctx.client.xrange(stream, min=start, max="+", count=SCAN_PAGE)
            for entry_id, fields in page:
                item = {_text(k): v for k, v in fields.items()}
                if _text(item["scope"]) != scope:
                    continue
                category = _text(item["category"])
                if wanted is not None and category not in wanted:
                    continue
                found.append(
                    DeadLetterEntry(
                        _text(entry_id),
                        decode_job(item["job"]),
                        category,
                        _text(item["error"]),
                        int(item["attempts"]),
                        int(item["failed_at"]),
                    )
                )
                if len(found) == limit:
                    break
            if len(page) < SCAN_PAGE:
                break
            start = "(" + _text(page[-1][0])
        return found

    async def replay(
        self,
        scope: str,
        *,
        categories: Iterable[str] | None = None,
        limit: int | None = None,
        dry_run: bool = False,
        full_retry: bool = False,
    ) -> ReplayResult:
        """Re-enqueue up to ``limit`` of ``scope``'s dead letters, or only count them."""
        if limit is not None and limit < 1:
            raise ValueError("limit must be >= 1")
        cap = self._ctx.config.replay_limit_cap
        limit = cap if limit is None else min(limit, cap)
        wanted = parse_categories(categories)
        counts = (await self.scope(scope)).counts
        selected = {c: n for c, n in counts.items() if wanted is None or c in wanted}
        if dry_run or not selected:
            return ReplayResult(scope, dry_run, limit, selected)
        chosen = await self.entries(scope, categories=wanted, limit=limit)
        shard = self._ctx.keys.shard_of(scope)
        primary, secondary = self._ctx.keys.streams(shard)
        keys = KeyList(
            [
                self._ctx.keys.dead(shard),
                self._ctx.keys.dead_scopes(shard),
                self._ctx.keys.dead_counts(scope),
                primary,
                secondary,
                self._ctx.keys.live(shard),
            ]
        )
        args: list[KeyOrArg] = [scope]
        for entry in chosen:
            job = replace(entry.job, attempt=1, max_attempts=None if full_retry else 1)
            bucket = keys.index(self._ctx.keys.ids(shard, job.id))
            args += (entry.entry_id, bucket, job.id, job.priority.code)
            args += (entry.category, job.encode())
        replayed, already_live, _missing, taken = await self._ctx.scripts.run(
            "replay", keys.keys, args
        )
        jobs = tuple(chosen[int(position) - 1].job for position in taken)
        return ReplayResult(scope, False, limit, selected, int(replayed), int(already_live), jobs)

    async def purge(self, scope: str, *, categories: Iterable[str] | None = None) -> int:
        """Delete ``scope``'s dead letters (of ``categories``, or all with their samples)."""
        wanted = parse_categories(categories)
        shard = self._ctx.keys.shard_of(scope)
        keys = [
            self._ctx.keys.dead(shard),
            self._ctx.keys.dead_scopes(shard),
            self._ctx.keys.dead_counts(scope),
            self._ctx.keys.dead_samples(scope),
        ]
        deleted = 0
        while True:
            chosen = await self.entries(scope, categories=wanted, limit=SCAN_PAGE)
            args: list[KeyOrArg] = [scope, "1" if wanted is None else "0"]
            for entry in chosen:
                args += (entry.entry_id, entry.category)
            deleted += int(await self._ctx.scripts.run("purge", keys, args))
            if len(chosen) < SCAN_PAGE:
                return deleted
