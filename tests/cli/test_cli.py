"""The simcrm command as a user runs it: a real process, a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SIMCRM = Path(sys.executable).parent / "simcrm"


def simcrm(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "DB_", "REDIS_", "TOKEN_", "CONTACT_", "ATTEMPTS_"))
    }
    environment.update(env)
    return subprocess.run(
        [str(SIMCRM), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_users_create_prints_a_key_and_stores_its_hash(tmp_path: Path) -> None:
    """`simcrm users create --email a@b.c --boss` on a fresh SQLite file prints a key once;
    the table holds the key's hash and not the key."""
    assert simcrm("migrate", cwd=tmp_path).returncode == 0
    result = simcrm("users", "create", "--email", "a@b.c", "--boss", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    key = result.stdout.split("API key (shown once, keep it safe): ")[1].strip()
    assert key.startswith("sk_simcrm_")
    import hashlib

    with sqlite3.connect(tmp_path / "simcrm.db") as db:
        rows = db.execute("SELECT email, role, api_key_hash FROM users").fetchall()
        dump = "\n".join(db.iterdump())
    assert rows == [("a@b.c", "boss", hashlib.sha256(key.encode()).hexdigest())]
    assert key not in dump


def test_migrate_twice_is_harmless_and_says_so(tmp_path: Path) -> None:
    """Running migrate on an up-to-date database changes nothing and reports it."""
    first = simcrm("migrate", cwd=tmp_path)
    second = simcrm("migrate", cwd=tmp_path)
    assert "migrated from empty to revision" in first.stdout
    assert "already at revision" in second.stdout


def test_commands_need_a_migrated_database(tmp_path: Path) -> None:
    """Using a database that was never migrated fails with a message naming the fix."""
    result = simcrm("users", "create", "--email", "x@y.z", cwd=tmp_path)
    assert result.returncode == 1
    assert "run `simcrm migrate`" in result.stderr


def test_duplicate_user_fails_cleanly(tmp_path: Path) -> None:
    """A second user with the same email exits 1 with a one-line error and no traceback."""
    simcrm("migrate", cwd=tmp_path)
    simcrm("users", "create", "--email", "a@b.c", cwd=tmp_path)
    result = simcrm("users", "create", "--email", "A@B.C", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "simcrm: a user with email a@b.c exists already"


def test_bad_email_is_named(tmp_path: Path) -> None:
    """An email without @ is refused before touching the database."""
    result = simcrm("users", "create", "--email", "nobody", cwd=tmp_path)
    assert result.returncode == 2
    assert "--email must be an email address" in result.stdout


def test_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    """A bad environment variable ends the command with exit 2 and one line naming it."""
    result = simcrm("migrate", cwd=tmp_path, CONTACT_ATTEMPTS="42")
    assert result.returncode == 2
    assert result.stderr == "simcrm: CONTACT_ATTEMPTS must be an integer from 1 to 10 (got '42')\n"


@pytest.mark.parametrize("command", [[], ["migrate"], ["users"], ["users", "create"], ["doctor"]])
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    """Each command explains itself under --help."""
    result = simcrm(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: simcrm" in result.stdout
    assert len(result.stdout.splitlines()) > 5


def test_doctor_reports_database_and_redis(tmp_path: Path, redis_url: str) -> None:
    """`simcrm doctor` checks the schema and makes a Redis round trip; exit 0 when both are fine."""
    unmigrated = simcrm("doctor", cwd=tmp_path, REDIS_URL=redis_url)
    assert unmigrated.returncode == 1
    assert "run `simcrm migrate`" in unmigrated.stdout
    simcrm("migrate", cwd=tmp_path)
    result = simcrm("doctor", cwd=tmp_path, REDIS_URL=redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "round trip" in result.stdout
    assert "all good" in result.stdout


def test_rotate_tokens_reseals_with_the_new_key(tmp_path: Path) -> None:
    """`simcrm users rotate-tokens` re-encrypts stored tokens so the old key can be dropped."""
    import asyncio

    from engine.settings import key_id
    from schema.crypto import TokenCipher
    from schema.store import Store

    old, new = bytes(range(32)), bytes(range(32, 64))
    simcrm("migrate", cwd=tmp_path)
    simcrm("users", "create", "--email", "t@b.c", cwd=tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path}/simcrm.db"

    async def store_token() -> None:
        async with Store.open(url) as store:
            user = await store.users.by_email("t@b.c")
            assert user is not None
            await store.credentials.put(user.id, "pat-secret", TokenCipher({key_id(old): old}))

    asyncio.run(store_token())
    result = simcrm(
        "users", "rotate-tokens", cwd=tmp_path,
        TOKEN_ENC_SECRET=new.hex(), TOKEN_ENC_OLD_SECRETS=old.hex(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1 token(s)" in result.stdout

    async def read_back() -> str | None:
        async with Store.open(url) as store:
            user = await store.users.by_email("t@b.c")
            assert user is not None
            return await store.credentials.token(user.id, TokenCipher({key_id(new): new}))

    assert asyncio.run(read_back()) == "pat-secret"
