"""Heavy model work (previews, plans) in worker processes, admitted up to a bound.

A preview or plan of a large simulation is seconds of pure Python. Run on a thread it holds the
GIL against the event loop, so every other request — ``/api/health`` included — waits behind it.
:class:`ModelWorkers` runs such work in a pool of ``SIMCRM_API_MODEL_WORKERS`` processes (started
with ``spawn``: nothing of the server's loop or connections is copied into them) and admits at
most twice that many jobs more waiting; past that, :class:`Busy` (a 503 with ``Retry-After``)
instead of an ever longer queue. A worker process that dies is replaced on the next call; a worker
whose server died (even by SIGKILL) exits within a second rather than linger.

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
from typing import ParamSpec, TypeVar

import structlog

from api.errors import Unavailable

P = ParamSpec("P")
T = TypeVar("T")
QUEUED_PER_WORKER = 2
RETRY_AFTER_S = 2
PARENT_CHECK_S = 0.5

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

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_follow_parent,
                initargs=(os.getpid(),),
            )
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
        pool = self._executor()
        try:
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


def _follow_parent(parent_pid: int) -> None:
    """In a worker process: exit as soon as the server that started it is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _call(function: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    return function(*args, **kwargs)
