"""A store whose database is locked by another connection gives up within its timeout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from schema.db import UNAVAILABLE, unavailable_reason
from schema.store import Store


async def test_the_write_probe_notices_a_lock_that_reads_do_not(tmp_path: Path) -> None:
    """Under another connection's exclusive lock a read still answers (WAL), but the write probe
    and a real write fail with a 'locked' error within the store's timeout instead of waiting
    the driver's default 30 s."""
    url = f"sqlite+aiosqlite:///{tmp_path}/simcrm.db"
    async with Store.open(url, require_schema=False, timeout_ms=200) as store:
        await store.migrate()
        holder = sqlite3.connect(tmp_path / "simcrm.db", isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            await store.ping()
            with pytest.raises(UNAVAILABLE) as caught:
                await store.probe_write()
            assert unavailable_reason(caught.value) == "locked"
            with pytest.raises(UNAVAILABLE):
                await store.users.create("someone@example.com")
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        await store.probe_write()
        assert store.name == "sqlite database simcrm.db"
