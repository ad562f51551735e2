"""Running the sandbox: in-process for tests, the demo and benchmarks, or as ``simcrm sandbox``.

::

    async with Sandbox(SandboxConfig(tier=190)) as sandbox:
        transport = HubSpotTransport(sandbox.url)
        ...
        assert sandbox.stats().duplicates_total == 0
        notes = sandbox.objects(ObjectType.NOTE)   # what it stored, with receipt times

The same state is readable over HTTP (``GET /__sandbox/stats``, ``GET /__sandbox/objects/notes``).
With ``SandboxConfig(portals=(PortalConfig(token, portal_id, tier=...), ...))`` each token reaches
a portal of its own: ``sandbox.objects("notes", portal_id)``, ``sandbox.stats().portals``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.app import create_app
from sandbox.config import PortalConfig, SandboxConfig
from sandbox.hubspot import ObjectType, wall_clock_ms
from sandbox.state import SandboxState, SandboxStats
from sandbox.store import SandboxObject


class Sandbox:
    """One sandbox server on ``host``:``port`` (0: a free port); ``url`` once started.

    ``clock`` (epoch ms) drives its windows, daily reset, search lag and receipt times, so tests
    can step time instead of sleeping.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.state = SandboxState(config or SandboxConfig(), clock)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        runner = web.AppRunner(create_app(self.state), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    def reconfigure(self, **changes: Any) -> SandboxConfig:
        """Change knobs while it runs (``tier``, ``error_rate``, ``latency_ms`` …)."""
        return self.state.reconfigure(**changes)

    def reconfigure_portal(self, portal_id: int, **changes: Any) -> PortalConfig:
        """Change one declared portal's ``tier``, ``daily_limit`` or ``time_zone``."""
        return self.state.reconfigure_portal(portal_id, **changes)

    def reset(self) -> None:
        self.state.reset()

    def stats(self) -> SandboxStats:
        return self.state.stats()

    def objects(self, object_type: str, portal_id: int | None = None) -> tuple[SandboxObject, ...]:
        """Every object of a type (``"contact"``, ``"notes"``, ``"0-1"`` …) a portal (the
        default one unless ``portal_id`` names another) stored, archived ones too, in creation
        order."""
        portal = self.state.default if portal_id is None else self.state.find(portal_id)
        if portal is None:
            raise ValueError(f"no portal has id {portal_id}")
        return portal.store.snapshot(ObjectType.from_path(object_type))


async def start_sandbox(
    config: SandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], int] = wall_clock_ms,
) -> Sandbox:
    """Start a sandbox and return it (``await sandbox.close()`` when done)."""
    sandbox = Sandbox(config, host=host, port=port, clock=clock)
    await sandbox.start()
    return sandbox
