"""Security headers on every answer the application gives (JSON, the dashboard, its assets).

The dashboard holds an API key, so it must not run anything but its own files nor be framed by
another site (clickjacking): a Content-Security-Policy allowing only this origin's scripts, styles
and API calls, with ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for browsers that
predate it); ``nosniff`` so nothing is run as a type it was not sent as; no referrer leaves.
"""

from __future__ import annotations

from aiohttp import web

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def add_security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def install(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
