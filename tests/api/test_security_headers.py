"""Every answer carries the headers that keep the dashboard (and the API key it holds) from being
framed by another site or made to run anything but its own files."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/health", "/api/nowhere"])
async def test_security_headers_on_every_answer(api: Api, path: str) -> None:
    """The page, its assets, JSON answers and errors alike: a Content-Security-Policy allowing
    only this origin and no framing, X-Frame-Options DENY and nosniff."""
    response = await api.client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
