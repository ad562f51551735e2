"""Merging concurrent small batches of one (simulation, job type) into full batch calls.

The queue hands a handler the ready jobs of its type from one read. When jobs trickle in — one
contact batch's activities planned here, a deferred group coming back there — each read holds only a
few of a type, and sending them as they come would spend one rate-limited request on a handful of
objects. Under HubSpot's limits a request is the scarce thing, so jobs of the same key wait a short
while for company: the first to arrive opens a batch, later arrivals join it, and it is sent when it
holds ``size`` jobs, or when ``linger_ms`` has passed and it holds at least ``min_fill(key)``
jobs, or at the latest after ``max_wait_ms``. The caller keeps ``min_fill`` at 1 while requests are
plentiful (latency stays low) and raises it while the rate limiter refuses calls, so that scarce
requests go to full batches and rare types wait to be gathered. Each caller gets back the outcomes
of its own jobs.

A send may raise :class:`Hold`: the server cannot take the call for a moment (the rate limiter's
window is full). The jobs of that call then wait here and join the key's next batch — they are
not handed back to the queue, and they fill the next call instead of making a small one of their
own. A part of a caller's jobs stays here at most ``hold_max_ms`` from its first refusal, and
at most ``hold_max_items`` jobs of one key are held at once (one key's refused work must not
take every job slot of the process); beyond either, ``expired`` gives their results (the caller
decides what a job refused that long becomes).

A batch call runs in a task of its own, apart from the jobs waiting for it, so cancelling a job
does not cut a request other jobs share. :meth:`Coalescer.close` ends them all at shutdown: the
calls still in flight are cancelled (their requests are cut by us, not failed by the server) and
batches not yet sent are dropped; their jobs, cancelled too, go back to the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Send = Callable[[list[T]], Awaitable[Sequence[R]]]


class Hold(Exception):
    """Raised by a send whose call must wait ``wait_ms`` before it can go (see the module
    docstring): its items are sent again, with whatever else gathered meanwhile."""

    def __init__(self, wait_ms: int) -> None:
        super().__init__(f"hold for {wait_ms} ms")
        self.wait_ms = wait_ms


class _Batch(Generic[T, R]):
    __slots__ = ("future", "items", "opened", "sealed")

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.items: list[T] = []
        self.future: asyncio.Future[Sequence[R]] = loop.create_future()
        self.opened = loop.time()
        self.sealed = False


class Coalescer(Generic[T, R]):
    def __init__(
        self,
        *,
        linger_ms: int = 100,
        size: int = 100,
        min_fill: Callable[[Hashable], int] = lambda key: 1,
        max_wait_ms: int = 5_000,
        hold_max_ms: int = 0,
        hold_max_items: int = 0,
        expired: Callable[[list[T], int], Sequence[R]] | None = None,
    ) -> None:
        self._linger_s = linger_ms / 1000
        self._hold_max_s = hold_max_ms / 1000
        self._hold_max_items = hold_max_items
        self._held_items: dict[Hashable, int] = {}
        self._expired = expired
        self.size = size
        self._min_fill = min_fill
        self._max_wait_s = max_wait_ms / 1000
        self._open: dict[Hashable, _Batch[T, R]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def close(self) -> None:
        """Cancel every batch call in flight and send nothing more (see the module docstring)."""
        self._closed = True
        for batch in self._open.values():
            batch.sealed = True
            batch.future.cancel()
        self._open.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def submit(self, key: Hashable, items: Sequence[T], send: Send[T, R]) -> list[R]:
        """Send ``items`` with whatever else is submitted under ``key`` meanwhile.

        ``send`` receives at most ``size`` items and returns one result per item, in order; its
        exception is raised to every caller whose items were in that call. After :meth:`close`
        it raises :class:`asyncio.CancelledError`.
        """
        return await self._submit(key, items, send, held_since=None)

    async def _submit(
        self, key: Hashable, items: Sequence[T], send: Send[T, R], held_since: float | None
    ) -> list[R]:
        if self._closed:
            raise asyncio.CancelledError
        slices: list[tuple[_Batch[T, R], int, int]] = []
        remaining = list(items)
        while remaining:
            batch = self._open.get(key)
            if batch is None:
                batch = self._open[key] = _Batch()
                loop = asyncio.get_running_loop()
                loop.call_later(self._linger_s, self._lingered, key, batch, send)
            room = self.size - len(batch.items)
            taken, remaining = remaining[:room], remaining[room:]
            start = len(batch.items)
            batch.items.extend(taken)
            slices.append((batch, start, start + len(taken)))
            if len(batch.items) >= self.size:
                self._seal(key, batch, send)
        results: list[R] = []
        for batch, start, stop in slices:
            try:
                outcome = await asyncio.shield(batch.future)
            except Hold as hold:
                part = batch.items[start:stop]
                results.extend(await self._held(key, part, send, held_since, hold.wait_ms))
            else:
                results.extend(outcome[start:stop])
        return results

    async def _held(
        self,
        key: Hashable,
        items: list[T],
        send: Send[T, R],
        held_since: float | None,
        wait_ms: int,
    ) -> Sequence[R]:
        """Items whose call was held: sent again after ``wait_ms``, or expired."""
        now = asyncio.get_running_loop().time()
        since = now if held_since is None else held_since
        held = self._held_items.get(key, 0)
        if (
            self._expired is None
            or now - since + wait_ms / 1000 > self._hold_max_s
            or held + len(items) > self._hold_max_items
        ):
            if self._expired is None:
                raise Hold(wait_ms)
            return self._expired(items, wait_ms)
        self._held_items[key] = held + len(items)
        try:
            await asyncio.sleep(wait_ms / 1000)
        finally:
            left = self._held_items[key] - len(items)
            if left:
                self._held_items[key] = left
            else:
                del self._held_items[key]
        return await self._submit(key, items, send, since)

    def _lingered(self, key: Hashable, batch: _Batch[T, R], send: Send[T, R]) -> None:
        """The linger is over: send if full enough or old enough, else linger again."""
        if batch.sealed:
            return
        loop = asyncio.get_running_loop()
        waited = loop.time() - batch.opened
        if len(batch.items) >= self._min_fill(key) or waited >= self._max_wait_s:
            self._seal(key, batch, send)
        else:
            loop.call_later(self._linger_s, self._lingered, key, batch, send)

    def _seal(self, key: Hashable, batch: _Batch[T, R], send: Send[T, R]) -> None:
        if self._open.get(key) is batch:
            del self._open[key]
        if batch.sealed or self._closed:
            return
        batch.sealed = True
        task = asyncio.create_task(self._send(batch, send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _send(batch: _Batch[T, R], send: Send[T, R]) -> None:
        try:
            results = await send(batch.items)
        except BaseException as exc:  # handed to every waiting caller, not lost in a task
            if isinstance(exc, asyncio.CancelledError):
                batch.future.cancel()
                raise
            batch.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        batch.future.set_result(results)
