"""The dashboard: static HTML, CSS and JavaScript served from ``api/static`` (no build step).

``GET /`` is the page; ``/static/…`` its assets. The page signs in with an API key (kept in the
tab's session storage: gone when the tab closes) and talks to the same JSON API as everyone else.
Its Content-Security-Policy and framing headers come from :mod:`api.headers`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

STATIC = Path(str(resources.files("api").joinpath("static")))


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def install(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC, append_version=False)
