"""Serving the application on a TCP port: for ``simcrm serve``, ``simcrm demo`` and tests.

::

    running = await start_server(settings, redis_url=endpoint.url, port=8080)
    print(running.url)              # http://127.0.0.1:8080
    ...
    await running.close()
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from api.app import create_app
from api.protocol import ApiRunner
from engine.settings import Settings


@dataclass(frozen=True, slots=True)
class RunningServer:
    runner: ApiRunner
    url: str

    async def close(self) -> None:
        """Stop accepting, finish the requests in flight, close the app's resources."""
        await self.runner.cleanup()


async def start_server(
    settings: Settings,
    *,
    redis_url: str,
    host: str = "127.0.0.1",
    port: int = 0,
    database_url: str | None = None,
) -> RunningServer:
    """Build the app and serve it on ``host``:``port`` (0: a free port); ``url`` says where.

    Raises:
        OSError: the address is taken or cannot be bound.
        StoreError: the database cannot be opened or is not migrated.
    """
    app = create_app(settings, redis_url=redis_url, database_url=database_url)
    runner = ApiRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(runner, f"http://{shown}:{bound}")
