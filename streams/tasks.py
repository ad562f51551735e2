"""Small helpers for the queue's background loops."""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Re-raise a pending cancellation that a library turned into another error.

    A client may catch ``CancelledError`` while a blocking command is interrupted and raise a
    connection error instead; a loop that retries on connection errors would then swallow the
    cancellation and never stop. Loops call this in their error handlers.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks``, wait for them to end, and empty the list."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()


async def first_of(*events: asyncio.Event, timeout_s: float) -> None:
    """Return when any of ``events`` is set, or after ``timeout_s`` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
