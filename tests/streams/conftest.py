"""Fixtures for the queue tests: opened queues on the flushed test database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import pytest
from redis.asyncio import Redis

from core.clock import Clock
from streams.config import QueueConfig
from streams.queue import Queue
from streams.retry import RetryPolicy

# Short timeouts so reclaim and shutdown tests take fractions of a second.
FAST: dict[str, Any] = {
    "block_ms": 50,
    "visibility_ms": 600,
    "heartbeat_ms": 150,
    "reaper_interval_ms": 100,
    "mover_interval_ms": 10,
    "grace_ms": 1_000,
}


class QueueFactory(Protocol):
    def __call__(
        self,
        *,
        client: Any = None,
        clock: Clock | None = None,
        policies: dict[str, RetryPolicy] | None = None,
        **config: Any,
    ) -> Awaitable[Queue]: ...


@pytest.fixture
async def make_queue(redis: Redis) -> AsyncIterator[QueueFactory]:
    """Open queues (unique key prefix each) on the test database; all closed after the test."""
    opened: list[Queue] = []

    async def make(
        *,
        client: Any = None,
        clock: Clock | None = None,
        policies: dict[str, RetryPolicy] | None = None,
        **config: Any,
    ) -> Queue:
        options = {**FAST, "prefix": f"t{uuid.uuid4().hex[:8]}", **config}
        queue = Queue(client or redis, QueueConfig(**options), policies=policies, clock=clock)
        await queue.open()
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        await queue.close()


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 10.0
) -> None:
    """Wait (polling) until ``check()`` is true; fail the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.01)
