"""A worker: one process's consumers for N shards, with the delayed mover, the reaper and the
heartbeat, under one concurrency limit, with an explicit, graceful shutdown.

Lifecycle::

    async with queue.worker(handlers) as worker:   # groups ensured, loops running
        await worker.run_until_signal()            # SIGINT / SIGTERM → stop()

:meth:`Worker.stop` stops reading and reclaiming, lets in-flight jobs finish for ``grace_ms``,
cancels the rest, settles everything that finished, and hands every entry it still holds back:
each is added again to its stream as a new entry (the interrupted delivery not counted), so any
other worker's next read takes it at once, without waiting for the reclaim idle time; nothing is
lost. A cancelled job must tolerate being run again (at-least-once).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import structlog
from redis.exceptions import RedisError

from streams.consumer import ShardConsumer, ensure_groups
from streams.context import QueueContext
from streams.handlers import Handler
from streams.mover import DelayedMover
from streams.retry import RetryPolicy
from streams.settle import SettleCounts, Settlements
from streams.slots import Slots
from streams.tasks import cancel_all, first_of, raise_if_cancelling

log = structlog.get_logger("streams.worker")


def consumer_name() -> str:
    """A name unique to this process and worker: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Consumers for some shards, sharing one concurrency limit, plus mover, reaper, heartbeat."""

    def __init__(
        self,
        ctx: QueueContext,
        handlers: Mapping[str, Handler],
        *,
        policies: Mapping[str, RetryPolicy],
        default_policy: RetryPolicy,
        shards: Sequence[int] | None = None,
        name: str | None = None,
        run_mover: bool = True,
        run_reaper: bool = True,
    ) -> None:
        self.name = name or consumer_name()
        self.shards = tuple(range(ctx.keys.shards) if shards is None else shards)
        for shard in self.shards:
            ctx.keys.tag(shard)  # validates the shard number
        self._ctx = ctx
        self.mover = DelayedMover(ctx)
        self._run_mover = run_mover
        self._run_reaper = run_reaper
        self.slots = Slots(ctx.config.concurrency)
        self.consumers = [
            ShardConsumer(
                shard,
                ctx,
                handlers=handlers,
                settlements=Settlements(shard, ctx, policies, default_policy),
                slots=self.slots,
                consumer=self.name,
            )
            for shard in self.shards
        ]
        self._stop_requested = asyncio.Event()
        self._no_more_reads = asyncio.Event()
        self._finished = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []
        self._settlers: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []
        self._started = False
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Worker:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Ensure the consumer groups and start every loop."""
        if self._started:
            return
        self._started = True
        await ensure_groups(self._ctx.client, self._ctx.keys, self.shards)
        for consumer in self.consumers:
            self._readers.append(asyncio.create_task(consumer.read_loop(self._no_more_reads)))
            self._settlers.append(asyncio.create_task(consumer.settle_loop()))
        heartbeat = self._every(self._ctx.config.heartbeat_ms, self.heartbeat, self._finished)
        self._background.append(asyncio.create_task(heartbeat))
        if self._run_reaper:
            # The first pass runs at once: entries left idle by a dead worker are taken over
            # before they wait a whole interval behind new work.
            reaper = self._every(
                self._ctx.config.reaper_interval_ms, self.reap, self._no_more_reads, first_now=True
            )
            self._readers.append(asyncio.create_task(reaper))
        if self._run_mover:
            mover = self.mover.run(self.shards, self._finished)
            self._background.append(asyncio.create_task(mover))
        log.info("worker_started", worker=self.name, shards=len(self.shards))

    def request_stop(self) -> None:
        """Ask :meth:`run_until_signal` / :meth:`wait` to return (safe from a signal handler)."""
        self._stop_requested.set()

    async def wait(self) -> None:
        """Wait until a stop is requested."""
        await self._stop_requested.wait()

    async def run_until_signal(
        self, signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM)
    ) -> None:
        """Run until one of ``signals`` arrives (or :meth:`request_stop`), then stop gracefully."""
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            await self.wait()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            await self.stop()

    async def stop(self, grace_ms: int | None = None) -> None:
        """Graceful shutdown (see the module docstring). Safe to call twice."""
        if self._stopped or not self._started:
            self._stopped = True
            return
        self._stopped = True
        self._stop_requested.set()
        grace = self._ctx.config.grace_ms if grace_ms is None else grace_ms
        # Loops are told to stop rather than cancelled mid-command; a reader notices within
        # block_ms. Cancelling is the fallback for a loop still waiting for a free slot.
        self._no_more_reads.set()
        await self._join(self._readers, self._ctx.config.block_ms / 1000 + 1.0)
        running = [task for consumer in self.consumers for task in consumer.tasks]
        if running:
            _done, late = await asyncio.wait(running, timeout=grace / 1000)
            if late:
                log.warning("worker_jobs_cancelled", worker=self.name, jobs=len(late))
                await cancel_all(list(late))
        for consumer in self.consumers:
            consumer.stop_settling()
        await asyncio.wait(self._settlers, timeout=max(1.0, grace / 1000))
        await cancel_all(self._settlers)
        for consumer in self.consumers:
            await self._settle_rest(consumer)
        self._finished.set()
        await self._join(self._background, self._ctx.config.block_ms / 1000 + 1.0)
        released = 0
        for consumer in self.consumers:
            try:
                released += await consumer.release()
            except (RedisError, OSError) as exc:
                log.error("worker_release_failed", worker=self.name, error=str(exc))
        log.info("worker_stopped", worker=self.name, released=released)

    @staticmethod
    async def _join(tasks: list[asyncio.Task[None]], timeout_s: float) -> None:
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        await cancel_all(tasks)

    async def _settle_rest(self, consumer: ShardConsumer) -> None:
        try:
            await asyncio.wait_for(
                consumer.flush(), timeout=max(1.0, self._ctx.config.grace_ms / 1000)
            )
        except TimeoutError:
            log.error("worker_settle_timeout", worker=self.name, shard=consumer.shard)

    # -- periodic work ---------------------------------------------------------------------

    async def heartbeat(self) -> None:
        """Renew the claims of every running job."""
        for consumer in self.consumers:
            await consumer.heartbeat()

    async def reap(self) -> int:
        """Reclaim idle entries on every shard, and forget long-idle empty consumers."""
        claimed = 0
        for consumer in self.consumers:
            claimed += await consumer.reclaim()
            await consumer.forget_idle_consumers()
        return claimed

    async def _every(
        self, interval_ms: int, action: Any, until: asyncio.Event, *, first_now: bool = False
    ) -> None:
        wait = not first_now
        while True:
            if wait:
                await first_of(until, timeout_s=interval_ms / 1000)
            wait = True
            if until.is_set():
                return
            try:
                await action()
            except (RedisError, OSError) as exc:
                raise_if_cancelling()
                self._ctx.trouble(log, "worker_periodic_failed", exc)

    # -- numbers ---------------------------------------------------------------------------

    @property
    def totals(self) -> SettleCounts:
        """Settlements this worker wrote since it started."""
        total = SettleCounts()
        for consumer in self.consumers:
            total = total + consumer.totals
        return total
