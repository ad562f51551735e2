"""Heavy model work (previews, plans) in worker processes, admitted up to a bound.

A preview or plan of a large simulation is seconds of pure Python. Run on a thread it holds the
GIL against the event loop, so every other request — ``/api/health`` included — waits behind it.
:class:`ModelWorkers` runs such work in a pool of ``SIMCRM_API_MODEL_WORKERS`` processes, started
on first use by ``forkserver``: forked from a clean server process that has the model imported
already, so nothing of the API's loop or connections is copied into them and a new worker starts
in milliseconds. It admits at most twice that many jobs more, waiting; past that, :class:`Busy`
(a 503 with ``Retry-After``) instead of an ever longer queue. A worker process that dies is
replaced on the next call; a worker whose API process died (even by SIGKILL) exits within a
second rather than linger.

The functions handed over must be importable module-level functions whose arguments and results
pickle (pydantic models, frozen dataclasses).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from typing import ParamSpec, TypeVar

import structlog

from api.errors import Unavailable

P = ParamSpec("P")
T = TypeVar("T")
QUEUED_PER_WORKER = 2
RETRY_AFTER_S = 2
SERVER_CHECK_S = 0.5
PRELOAD = ("api.plans",)  # what worker processes run: imported once, in the fork server

log = structlog.get_logger()


class Busy(Unavailable):
    code = "busy"


class ModelWorkers:
    """A process pool with bounded admission. Close it with :meth:`close`."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.capacity = workers * (1 + QUEUED_PER_WORKER)
        self._admitted = 0
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Start the pool and its first worker now rather than on the first preview (the fork
        server's imports take seconds); a failure is logged and retried on first use."""
        try:
            await self._executor()
        except Exception as exc:  # whatever failed, the first preview tries again
            log.warning("model_workers_not_started", error=type(exc).__name__)

    async def _executor(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(_new_pool, self.workers)
        return self._pool

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args)`` in a worker process.

        Raises:
            Busy: as many jobs as admitted are running or waiting already.
            Unavailable: the worker process died (it is replaced for the next call).
        """
        if self._admitted >= self.capacity:
            raise Busy(
                "the server is busy computing other previews and plans; try again shortly",
                {"retryAfterMs": RETRY_AFTER_S * 1000},
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self._admitted += 1
        try:
            pool = await self._executor()
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, _call, function, args, kwargs)
        except BrokenProcessPool:
            log.warning("model_worker_lost")
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise Unavailable("a model worker stopped; try again") from None
        finally:
            self._admitted -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _new_pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose workers fork from the fork server, started here if need be: that imports
    :data:`PRELOAD` (a second or more) and the first worker waits for it, so this runs on a
    thread, never on the event loop."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    forkserver.ensure_running()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_follow_server,
        initargs=(os.getpid(),),
    )
    # The first worker waits for the fork server to finish importing; later ones fork at once.
    pool.submit(abs, 0).result()
    return pool


def _follow_server(server_pid: int) -> None:
    """In a worker process: exit as soon as the API process is gone. (Its parent is the fork
    server, which outlives the API while any worker is alive, so the API is watched itself.)"""

    def watch() -> None:
        while _alive(server_pid):
            time.sleep(SERVER_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="follow-server", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user took the number: ours is gone
        return False
    return True


def _call(function: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    return function(*args, **kwargs)
