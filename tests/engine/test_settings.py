"""Settings: every variable's rule, the two namings, inheritance, and one-line error messages."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from engine.crm.transport import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT_MS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT_MS,
)
from engine.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings
from limits import LimitConfig
from streams import QueueConfig
from streams.retry import RetryPolicy

HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment with no SimCRM variables in it."""
    import os

    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(("REDIS_", "DB_", "DATABASE_", "SIMCRM_", "TOKEN_", "HUBSPOT_")) or any(
            word in upper for word in ("ATTEMPTS", "BACKOFF", "DLQ_", "THINNING_", "PROM_", "LOG_")
        ):
            monkeypatch.delenv(name)


def problem(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_match_the_spec() -> None:
    """With nothing set, every default is the one SPEC §8 names."""
    settings = load_settings()
    assert settings.queue.shards == 1
    assert settings.observability.redis_progress is True
    assert settings.queue.replay_limit_cap == 50
    assert settings.queue.dead_sample_max == 25
    assert settings.runtime.thinning_events_max == 200
    assert settings.observability.buckets_ms == (50, 100, 250, 500, 1000, 2000)
    assert settings.observability.prometheus is False
    assert settings.database.resolved_url() == DEFAULT_DATABASE_URL
    assert settings.retries.policy("contact") == RetryPolicy(3, (0, 2000, 8000))
    for kind in ("note", "call", "task", "ticket"):
        assert settings.retries.policy(kind) == RetryPolicy(2, (0, 3000))


def test_new_naming_wins_over_legacy(monkeypatch: pytest.MonkeyPatch) -> None:
    """CONTACT_ATTEMPTS / CONTACT_BACKOFF_MS beat ATTEMPTS_CONTACT / BACKOFF_CONTACT."""
    monkeypatch.setenv("ATTEMPTS_CONTACT", "7")
    monkeypatch.setenv("BACKOFF_CONTACT", "1,1")
    assert load_settings().retries.policy("contact") == RetryPolicy(7, (1, 1))
    monkeypatch.setenv("CONTACT_ATTEMPTS", "4")
    monkeypatch.setenv("CONTACT_BACKOFF_MS", "5,6,7")
    assert load_settings().retries.policy("contact") == RetryPolicy(4, (5, 6, 7))


def test_legacy_value_is_not_checked_when_new_name_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stale legacy variable cannot stop start-up once the new name overrides it."""
    monkeypatch.setenv("ATTEMPTS_NOTE", "banana")
    monkeypatch.setenv("NOTE_ATTEMPTS", "3")
    assert load_settings().retries.policy("note").attempts == 3


def test_secondary_types_inherit_then_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """NOTE/CALL/TASK/TICKET inherit ATTEMPTS_SECONDARY and BACKOFF_SECONDARY unless set."""
    monkeypatch.setenv("ATTEMPTS_SECONDARY", "5")
    monkeypatch.setenv("BACKOFF_SECONDARY", "10,20")
    monkeypatch.setenv("ATTEMPTS_CALL", "1")
    monkeypatch.setenv("TASK_BACKOFF_MS", "99")
    settings = load_settings()
    assert settings.retries.policy("note") == RetryPolicy(5, (10, 20))
    assert settings.retries.policy("call") == RetryPolicy(1, (10, 20))
    assert settings.retries.policy("task") == RetryPolicy(5, (99,))
    assert settings.retries.policy("ticket") == RetryPolicy(5, (10, 20))


def test_short_backoff_repeats_its_last_value() -> None:
    """A backoff list shorter than attempts − 1 pads with its last delay."""
    settings = Settings.from_env(CONTACT_ATTEMPTS=5, CONTACT_BACKOFF_MS=(100, 400))
    policy = settings.retries.policy("contact")
    assert policy.padded_backoff() == (100, 400, 400, 400)
    assert policy.delay_before_retry(1) == 100
    assert policy.delay_before_retry(4) == 400


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CONTACT_ATTEMPTS", "11", "CONTACT_ATTEMPTS must be an integer from 1 to 10 (got '11')"),
        ("ATTEMPTS_CONTACT", "0", "ATTEMPTS_CONTACT must be an integer from 1 to 10 (got '0')"),
        ("NOTE_ATTEMPTS", "two", "NOTE_ATTEMPTS must be an integer from 1 to 10 (got 'two')"),
        ("ATTEMPTS_SECONDARY", "12", "ATTEMPTS_SECONDARY must be an integer from 1 to 10"),
        ("BACKOFF_TICKET", "1,x", "BACKOFF_TICKET must be a comma-separated list of milliseconds"),
        ("CONTACT_BACKOFF_MS", "-5", "CONTACT_BACKOFF_MS must be a comma-separated list"),
        ("DLQ_REPLAY_LIMIT_CAP", "0", "DLQ_REPLAY_LIMIT_CAP must be an integer from 1 to 100"),
        ("DLQ_REPLAY_LIMIT_CAP", "101", "DLQ_REPLAY_LIMIT_CAP must be an integer from 1 to 100"),
        ("DLQ_SAMPLE_MAX", "-1", "DLQ_SAMPLE_MAX must be an integer from 1"),
        ("THINNING_EVENTS_MAX", "lots", "THINNING_EVENTS_MAX must be an integer from 1"),
        ("SIMCRM_QUEUE_SHARDS", "0", "SIMCRM_QUEUE_SHARDS must be an integer from 1 to 1024"),
        ("REDIS_PORT", "70000", "REDIS_PORT must be an integer from 1 to 65535"),
        ("REDIS_URL", "http://x", "REDIS_URL must be a URL starting with redis://"),
        ("DATABASE_URL", "postgres://x", "DATABASE_URL must be a URL starting with sqlite://"),
        ("DATABASE_URL", "postgresql+asyncpg://x", "DATABASE_URL must be a URL starting with"),
        ("HUBSPOT_BASE_URL", "ftp://x", "HUBSPOT_BASE_URL must be a URL starting with http://"),
        ("METRICS_PROM_ENABLED", "maybe", "METRICS_PROM_ENABLED must be 1 or 0"),
        ("REDIS_PROGRESS", "2", "REDIS_PROGRESS must be 1 or 0"),
        ("PROM_DEFAULT_BUCKETS", "50,fast", "PROM_DEFAULT_BUCKETS must be a comma-separated list"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of json, console"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    """A bad value stops start-up with one line naming the variable and what it must be."""
    assert problem(monkeypatch, **{variable: value}).startswith(expected)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        HEX_KEY[:-2],  # 31 bytes
        HEX_KEY + "00",  # 33 bytes
        base64.b64encode(b"x" * 31).decode(),
        "zz" * 32,  # 64 characters, not hex, not base64 of 32 bytes
    ],
)
def test_token_secret_must_be_32_bytes(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """TOKEN_ENC_SECRET must decode to exactly 32 bytes; the message never echoes the secret."""
    message = problem(monkeypatch, TOKEN_ENC_SECRET=value)
    assert message == "TOKEN_ENC_SECRET must be 32 bytes written as 64 hex digits or as base64"
    assert value not in message


@pytest.mark.parametrize("encode", [bytes.hex, lambda raw: base64.b64encode(raw).decode()])
def test_token_secret_accepts_hex_and_base64(
    monkeypatch: pytest.MonkeyPatch, encode: object
) -> None:
    """The same key written as hex or base64 gives the same key and key id."""
    raw = bytes(range(32))
    monkeypatch.setenv("TOKEN_ENC_SECRET", encode(raw))  # type: ignore[operator]
    settings = load_settings()
    assert list(settings.security.token_keys().values()) == [raw]
    assert raw.hex() not in repr(settings)


def test_old_secrets_stay_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKEN_ENC_OLD_SECRETS adds keys for decryption; the current one comes first."""
    old = bytes(range(32, 64))
    monkeypatch.setenv("TOKEN_ENC_SECRET", HEX_KEY)
    monkeypatch.setenv("TOKEN_ENC_OLD_SECRETS", old.hex())
    keys = load_settings().security.token_keys()
    assert list(keys.values()) == [bytes.fromhex(HEX_KEY), old]


def test_database_url_from_legacy_db_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """DB_HOST and friends make a MySQL URL when DATABASE_URL is unset; DATABASE_URL wins."""
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_USER", "sim")
    monkeypatch.setenv("DB_PASS", "p@ss word")
    monkeypatch.setenv("DB_NAME", "crm")
    url = load_settings().database.resolved_url()
    assert url == "mysql+asyncmy://sim:p%40ss%20word@db.internal:3306/crm"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///other.db")
    assert load_settings().database.resolved_url() == "sqlite:///other.db"


def test_secrets_do_not_show_in_repr() -> None:
    """Printing the settings never reveals a token, password or key."""
    settings = Settings.from_env(
        HUBSPOT_API_TOKEN=SecretStr("pat-na1-secret-value"),
        REDIS_PASSWORD=SecretStr("hunter2"),
        TOKEN_ENC_SECRET=SecretStr(HEX_KEY),
    )
    shown = repr(settings) + str(settings)
    for secret in ("pat-na1-secret-value", "hunter2", HEX_KEY):
        assert secret not in shown


def test_driver_urls_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """URLs naming their asyncio driver (sqlite+aiosqlite://, mysql+asyncmy://) are valid."""
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:////tmp/x.db")
    assert load_settings().database.resolved_url() == "sqlite+aiosqlite:////tmp/x.db"
    monkeypatch.setenv("DATABASE_URL", "mysql+asyncmy://root@db/simcrm")
    assert load_settings().database.url == "mysql+asyncmy://root@db/simcrm"


def test_key_prefix_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIMCRM_KEY_PREFIX names every Redis key; braces would break the hash tags."""
    assert problem(monkeypatch, SIMCRM_KEY_PREFIX="a{b}").startswith(
        "SIMCRM_KEY_PREFIX must be 1 to 64 characters without braces or spaces"
    )
    monkeypatch.setenv("SIMCRM_KEY_PREFIX", "team-a")
    assert load_settings().queue_config().prefix == "team-a"


def test_settings_build_the_queue_config_and_policies() -> None:
    """The daemon's settings give the queue its shard count, DLQ limits and per-type retries."""
    settings = Settings.from_env(
        SIMCRM_QUEUE_SHARDS=4, DLQ_SAMPLE_MAX=7, DLQ_REPLAY_LIMIT_CAP=20, NOTE_ATTEMPTS=5
    )
    config = settings.queue_config()
    assert (config.shards, config.dead_sample_max, config.replay_limit_cap) == (4, 7, 20)
    policies = settings.retries.policies()
    assert policies["note"].attempts == 5
    assert policies["contact"].backoff_ms == (0, 2000, 8000)


def test_only_load_settings_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings() and Settings.from_env() see only what they are given; load_settings() reads
    the process environment."""
    monkeypatch.setenv("SIMCRM_QUEUE_SHARDS", "9")
    assert Settings().queue.shards == 1
    assert Settings.from_env({}).queue.shards == 1
    assert load_settings().queue.shards == 9


def test_from_env_reads_names_in_any_case_and_ignores_the_rest() -> None:
    """As in an environment, names match in any case and variables of other programs are
    ignored."""
    settings = Settings.from_env({"simcrm_queue_shards": "3", "PATH": "/bin", "HOME": "/root"})
    assert settings.queue.shards == 3


def test_replace_checks_the_new_value_and_keeps_the_rest() -> None:
    """replace() sets the named variables as the environment would, leaves every other setting
    (and the original) as it was, and refuses a bad value with the usual one-line error."""
    settings = Settings.from_env(HUBSPOT_TIER=190, SIMCRM_KEY_PREFIX="team-a", ATTEMPTS_NOTE=4)
    changed = settings.replace(SIMCRM_QUEUE_SHARDS=4, CONTACT_ATTEMPTS=2)
    assert (changed.queue.shards, changed.retries.policy("contact").attempts) == (4, 2)
    assert (changed.limits.tier, changed.redis.key_prefix) == (190, "team-a")
    assert changed.retries.policy("note").attempts == 4
    assert settings.queue.shards == 1
    with pytest.raises(SettingsError) as caught:
        settings.replace(SIMCRM_QUEUE_SHARDS=0)
    assert str(caught.value) == "SIMCRM_QUEUE_SHARDS must be an integer from 1 to 1024 (got '0')"


def test_a_misspelt_variable_is_refused() -> None:
    """A keyword that is no setting's variable is an error, not a silently ignored value."""
    with pytest.raises(TypeError, match="SIMCRM_QUEUE_SHARD"):
        Settings.from_env(SIMCRM_QUEUE_SHARD=2)
    with pytest.raises(TypeError, match="shards"):
        Settings().replace(shards=2)


def test_defaults_are_the_packages_own() -> None:
    """Unset, the settings give each package its own defaults: the queue's timings and dead-letter
    limits, the limiter's free tier, the HubSpot client's timeouts and pool."""
    settings = Settings()
    queue, own_queue = settings.queue_config(), QueueConfig()
    for name in ("shards", "prefix", "visibility_ms", "heartbeat_ms", "grace_ms"):
        assert getattr(queue, name) == getattr(own_queue, name), name
    assert (queue.dead_sample_max, queue.replay_limit_cap) == (
        own_queue.dead_sample_max,
        own_queue.replay_limit_cap,
    )
    assert settings.limits.config() == LimitConfig()
    hubspot = settings.hubspot
    assert (hubspot.base_url, hubspot.timeout_ms, hubspot.connect_timeout_ms) == (
        DEFAULT_BASE_URL,
        DEFAULT_TIMEOUT_MS,
        DEFAULT_CONNECT_TIMEOUT_MS,
    )
    assert hubspot.max_connections == DEFAULT_MAX_CONNECTIONS
