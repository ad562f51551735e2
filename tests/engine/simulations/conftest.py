"""Fixtures for the simulations service: a user to own simulations, and a definition."""

from __future__ import annotations

from typing import Any

import pytest

from schema.store import Store
from schema.users import User

SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

BODY: dict[str, Any] = {
    "name": "service test",
    "scenario": "b2b_saas",
    "distribution_method": "uniform",
    "start_time": "2026-01-05T00:00:00Z",
    "end_time": "2026-01-12T00:00:00Z",
    "total_records": 200,
    "backfill": True,
}


@pytest.fixture
async def owner(store: Store) -> User:
    user, _ = await store.users.create("owner@example.com")
    return user
