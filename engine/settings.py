"""Settings: read once from the environment at an entry point, then passed down as one object.

``load_settings()`` is the only place the process environment is read. A bad value stops start-up
with :class:`SettingsError`, whose message is one line naming the variable and what it must be::

    CONTACT_ATTEMPTS must be an integer from 1 to 10 (got '11')

Tests build ``Settings(...)`` directly with field names (``Settings(contact_attempts=2)``).

Attempts and backoff come in two namings. For each primary type the new name wins over the legacy
one (``CONTACT_ATTEMPTS`` over ``ATTEMPTS_CONTACT``, ``CONTACT_BACKOFF_MS`` over
``BACKOFF_CONTACT``);
each secondary type (note, call, task, ticket) reads ``NOTE_ATTEMPTS`` then ``ATTEMPTS_NOTE``, and
when neither is set inherits ``ATTEMPTS_SECONDARY`` / ``BACKOFF_SECONDARY``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from limits.config import MAX_BATCH, OBJECT_KINDS, LimitConfig
from streams.config import QueueConfig
from streams.retry import MAX_ATTEMPTS, RetryPolicy

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./simcrm.db"
DEFAULT_HUBSPOT_BASE_URL = "https://api.hubapi.com"
PRIMARY_TYPES = ("contact", "company", "deal")
SECONDARY_TYPES = ("note", "call", "task", "ticket")


class SettingsError(ValueError):
    """A setting has a value the process cannot start with; the message names the variable."""


# ---------------------------------------------------------------------------------------------
# Parsers: each turns an environment string (or a Python value) into the field's type, raising
# ValueError with the "must be ..." half of the message.


def _int_between(low: int, high: int | None) -> Callable[[Any], Any]:
    what = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"

    def parse(value: Any) -> Any:
        if value is None:
            return None
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if isinstance(value, bool) or number < low or (high is not None and number > high):
            raise ValueError(f"must be {what}")
        return number

    return parse


def _number_list(kind: type[int] | type[float], what: str) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if value is None:
            return None
        items = value.split(",") if isinstance(value, str) else list(value)
        try:
            numbers = tuple(kind(str(item).strip()) for item in items)
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if not numbers or any(n < 0 for n in numbers):
            raise ValueError(f"must be {what}")
        return numbers

    return parse


def _flag(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be 1 or 0 (true/false)")


def _url(schemes: tuple[str, ...]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        scheme = text.split("://", 1)[0].split("+", 1)[0] if "://" in text else ""
        if scheme not in schemes:
            raise ValueError(
                f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return text

    return parse


def _key_prefix(value: Any) -> Any:
    text = str(value).strip()
    if not text or len(text) > 64 or any(ch in text for ch in "{} \t\n"):
        raise ValueError("must be 1 to 64 characters without braces or spaces")
    return text


def decode_secret(text: str) -> bytes:
    """Decode a 32-byte key given as 64 hex digits or as base64; ValueError otherwise."""
    text = text.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("must be 32 bytes written as 64 hex digits or as base64")
    return raw


def _secret_key(value: Any) -> Any:
    if value is None:
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    decode_secret(text)
    return SecretStr(text.strip())


def _secret_key_list(value: Any) -> Any:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(_secret_key(item) for item in items if str(item).strip())


def _one_of(*allowed: int) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number not in allowed or isinstance(value, bool):
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        return number

    return parse


def _time_zone(value: Any) -> Any:
    text = str(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name such as UTC or America/New_York") from None
    return text


Bucket = Annotated[int | None, BeforeValidator(_int_between(MAX_BATCH, None))]
Attempts = Annotated[int | None, BeforeValidator(_int_between(1, MAX_ATTEMPTS))]
Backoff = Annotated[
    tuple[int, ...] | None,
    NoDecode,
    BeforeValidator(_number_list(int, "a comma-separated list of milliseconds, e.g. 0,2000,8000")),
]


def _names(*names: str) -> Any:
    """Accept the environment names in priority order, and the field name in Python."""
    return Field(default=None, validation_alias=AliasChoices(*names))


class Settings(BaseSettings):
    """Every setting SimCRM reads, typed and validated; field names are the variables, lowercase."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", populate_by_name=True, frozen=True
    )

    # Redis: REDIS_URL wins; else REDIS_HOST (with port/db/password); else localhost or embedded.
    redis_url: Annotated[str | None, BeforeValidator(_url(("redis", "rediss", "unix")))] = None
    redis_host: str | None = None
    redis_port: Annotated[int, BeforeValidator(_int_between(1, 65535))] = 6379
    redis_db: Annotated[int, BeforeValidator(_int_between(0, None))] = 0
    redis_password: SecretStr | None = None

    # Database: DATABASE_URL wins; else the DB_* variables make a MySQL URL; else a SQLite file.
    database_url: Annotated[str | None, BeforeValidator(_url(("sqlite", "mysql")))] = None
    db_host: str | None = None
    db_port: Annotated[int, BeforeValidator(_int_between(1, 65535))] = 3306
    db_user: str | None = None
    db_pass: SecretStr | None = None
    db_name: str | None = None

    simcrm_queue_shards: Annotated[int, BeforeValidator(_int_between(1, 1024))] = 1
    redis_progress: Annotated[bool, BeforeValidator(_flag)] = True

    token_enc_secret: Annotated[SecretStr | None, BeforeValidator(_secret_key)] = None
    token_enc_old_secrets: Annotated[
        tuple[SecretStr, ...], NoDecode, BeforeValidator(_secret_key_list)
    ] = ()

    hubspot_api_token: SecretStr | None = None
    hubspot_base_url: Annotated[str, BeforeValidator(_url(("http", "https")))] = (
        DEFAULT_HUBSPOT_BASE_URL
    )

    metrics_prom_enabled: Annotated[bool, BeforeValidator(_flag)] = False
    prom_default_buckets: Annotated[
        tuple[float, ...],
        NoDecode,
        BeforeValidator(_number_list(float, "a comma-separated list of milliseconds")),
    ] = (50, 100, 250, 500, 1000, 2000)

    dlq_replay_limit_cap: Annotated[int, BeforeValidator(_int_between(1, 100))] = 50
    dlq_sample_max: Annotated[int, BeforeValidator(_int_between(1, 10_000))] = 25
    thinning_events_max: Annotated[int, BeforeValidator(_int_between(1, 100_000))] = 200

    # Attempts and backoff. None means "not set": the resolved policy comes from retry_policy().
    contact_attempts: Attempts = _names("CONTACT_ATTEMPTS", "ATTEMPTS_CONTACT", "contact_attempts")
    contact_backoff_ms: Backoff = _names(
        "CONTACT_BACKOFF_MS", "BACKOFF_CONTACT", "contact_backoff_ms"
    )
    company_attempts: Attempts = _names("COMPANY_ATTEMPTS", "ATTEMPTS_COMPANY", "company_attempts")
    company_backoff_ms: Backoff = _names(
        "COMPANY_BACKOFF_MS", "BACKOFF_COMPANY", "company_backoff_ms"
    )
    deal_attempts: Attempts = _names("DEAL_ATTEMPTS", "ATTEMPTS_DEAL", "deal_attempts")
    deal_backoff_ms: Backoff = _names("DEAL_BACKOFF_MS", "BACKOFF_DEAL", "deal_backoff_ms")
    attempts_secondary: Annotated[int, BeforeValidator(_int_between(1, MAX_ATTEMPTS))] = 2
    backoff_secondary: Annotated[
        tuple[int, ...],
        NoDecode,
        BeforeValidator(_number_list(int, "a comma-separated list of milliseconds, e.g. 0,3000")),
    ] = (0, 3000)
    note_attempts: Attempts = _names("NOTE_ATTEMPTS", "ATTEMPTS_NOTE", "note_attempts")
    note_backoff_ms: Backoff = _names("NOTE_BACKOFF_MS", "BACKOFF_NOTE", "note_backoff_ms")
    call_attempts: Attempts = _names("CALL_ATTEMPTS", "ATTEMPTS_CALL", "call_attempts")
    call_backoff_ms: Backoff = _names("CALL_BACKOFF_MS", "BACKOFF_CALL", "call_backoff_ms")
    task_attempts: Attempts = _names("TASK_ATTEMPTS", "ATTEMPTS_TASK", "task_attempts")
    task_backoff_ms: Backoff = _names("TASK_BACKOFF_MS", "BACKOFF_TASK", "task_backoff_ms")
    ticket_attempts: Attempts = _names("TICKET_ATTEMPTS", "ATTEMPTS_TICKET", "ticket_attempts")
    ticket_backoff_ms: Backoff = _names("TICKET_BACKOFF_MS", "BACKOFF_TICKET", "ticket_backoff_ms")

    # -- HubSpot rate limits (limits/) and the HubSpot client (engine/crm/) ---------------------
    # Tier = burst requests per 10 s: 100 (Free/Starter), 110 (OAuth apps), 190 (Professional,
    # Enterprise), 250 (API add-on). Unset numbers follow the tier (see limit_config()).
    hubspot_tier: Annotated[int, BeforeValidator(_one_of(100, 110, 190, 250))] = 100
    hubspot_daily_limit: Annotated[int | None, BeforeValidator(_int_between(0, None))] = None
    hubspot_timezone: Annotated[str, BeforeValidator(_time_zone)] = "UTC"
    hubspot_window_margin_ms: Annotated[int, BeforeValidator(_int_between(0, 5_000))] = 500
    hubspot_bucket_refill_ms: Annotated[int, BeforeValidator(_int_between(1_000, 3_600_000))] = (
        60_000
    )
    hubspot_bucket_contact: Bucket = None
    hubspot_bucket_company: Bucket = None
    hubspot_bucket_deal: Bucket = None
    hubspot_bucket_ticket: Bucket = None
    hubspot_bucket_note: Bucket = None
    hubspot_bucket_call: Bucket = None
    hubspot_bucket_task: Bucket = None
    hubspot_search_per_second: Annotated[int, BeforeValidator(_int_between(1, 100))] = 4
    hubspot_cooldown_ms: Annotated[int, BeforeValidator(_int_between(100, 3_600_000))] = 15_000
    hubspot_breaker_failures: Annotated[int, BeforeValidator(_int_between(1, 10_000))] = 8
    hubspot_breaker_window_ms: Annotated[int, BeforeValidator(_int_between(1_000, 3_600_000))] = (
        60_000
    )
    hubspot_breaker_open_ms: Annotated[int, BeforeValidator(_int_between(100, 3_600_000))] = 30_000
    hubspot_breaker_probe_ms: Annotated[int, BeforeValidator(_int_between(100, 3_600_000))] = 30_000
    hubspot_timeout_ms: Annotated[int, BeforeValidator(_int_between(100, 600_000))] = 30_000
    hubspot_connect_timeout_ms: Annotated[int, BeforeValidator(_int_between(100, 600_000))] = 5_000
    hubspot_max_connections: Annotated[int, BeforeValidator(_int_between(1, 1_000))] = 32

    # -- runtime: segments, pacing, thinning, the sandbox target, counters ----------------------
    simcrm_segment_minutes: Annotated[int, BeforeValidator(_int_between(1, 1_440))] = 60
    simcrm_lookahead_segments: Annotated[int, BeforeValidator(_int_between(1, 168))] = 1
    simcrm_backfill_window: Annotated[int, BeforeValidator(_int_between(100, 10_000_000))] = 20_000
    thinning_backlog_threshold: Annotated[int, BeforeValidator(_int_between(1, None))] = 50_000
    simcrm_sandbox_url: Annotated[str, BeforeValidator(_url(("http", "https")))] = (
        "http://127.0.0.1:8090"
    )
    simcrm_sandbox_token: SecretStr = SecretStr("sandbox-token")
    hubspot_write_createdate: Annotated[bool, BeforeValidator(_flag)] = True
    hubspot_search_lag_ms: Annotated[int, BeforeValidator(_int_between(0, 600_000))] = 10_000
    simcrm_flush_interval_ms: Annotated[int, BeforeValidator(_int_between(100, 3_600_000))] = 5_000
    simcrm_key_prefix: Annotated[str, BeforeValidator(_key_prefix)] = "simcrm"
    simcrm_concurrency: Annotated[int, BeforeValidator(_int_between(1, 10_000))] = 1_000
    simcrm_read_count: Annotated[int, BeforeValidator(_int_between(1, 10_000))] = 1_000
    simcrm_visibility_ms: Annotated[int, BeforeValidator(_int_between(1_000, 3_600_000))] = 30_000
    simcrm_grace_ms: Annotated[int, BeforeValidator(_int_between(0, 3_600_000))] = 10_000

    # -- the API server (`simcrm serve`) and its command-line client (`simcrm sim …`) ----------
    simcrm_api_host: str = "127.0.0.1"
    simcrm_api_port: Annotated[int, BeforeValidator(_int_between(1, 65535))] = 8080
    simcrm_api_url: Annotated[str, BeforeValidator(_url(("http", "https")))] = (
        "http://127.0.0.1:8080"
    )
    simcrm_api_key: SecretStr | None = None

    log_level: Annotated[str, BeforeValidator(lambda v: str(v).strip().lower())] = "info"
    log_format: Annotated[
        str | None, BeforeValidator(lambda v: _choice(v, ("json", "console")))
    ] = None

    # -- derived values -----------------------------------------------------------------------

    def retry_policy(self, job_type: str) -> RetryPolicy:
        """Attempts and backoff for ``job_type`` after the naming and inheritance rules.

        Primary types default to 3 attempts and ``0,2000,8000``; secondary types inherit
        ``ATTEMPTS_SECONDARY`` / ``BACKOFF_SECONDARY``. Any other type is treated as secondary.
        """
        attempts: int | None = getattr(self, f"{job_type}_attempts", None)
        backoff: tuple[int, ...] | None = getattr(self, f"{job_type}_backoff_ms", None)
        if job_type in PRIMARY_TYPES:
            return RetryPolicy(attempts or 3, backoff or (0, 2000, 8000))
        return RetryPolicy(attempts or self.attempts_secondary, backoff or self.backoff_secondary)

    def limit_config(self) -> LimitConfig:
        """The rate limits for HubSpot accounts: the tier's defaults with any HUBSPOT_* override.

        HUBSPOT_DAILY_LIMIT=0 means no daily limit (OAuth apps); unset, it follows the tier.
        """
        overrides: dict[str, Any] = {
            "timezone": self.hubspot_timezone,
            "window_margin_ms": self.hubspot_window_margin_ms,
            "refill_ms": self.hubspot_bucket_refill_ms,
            "search_limit": self.hubspot_search_per_second,
            "cooldown_ms": self.hubspot_cooldown_ms,
            "breaker_failures": self.hubspot_breaker_failures,
            "breaker_window_ms": self.hubspot_breaker_window_ms,
            "breaker_open_ms": self.hubspot_breaker_open_ms,
            "probe_timeout_ms": self.hubspot_breaker_probe_ms,
            "buckets": {
                kind: capacity
                for kind in OBJECT_KINDS
                if (capacity := getattr(self, f"hubspot_bucket_{kind}")) is not None
            },
        }
        if self.hubspot_daily_limit is not None:
            overrides["daily_limit"] = self.hubspot_daily_limit or None
        return LimitConfig.for_tier(self.hubspot_tier, **overrides)

    # -- the job queue (streams/) -------------------------------------------------------------

    def queue_config(self) -> QueueConfig:
        """The queue's options: SIMCRM_QUEUE_SHARDS, SIMCRM_CONCURRENCY, SIMCRM_READ_COUNT,
        SIMCRM_VISIBILITY_MS (claims renewed every third of it), SIMCRM_GRACE_MS,
        DLQ_SAMPLE_MAX and DLQ_REPLAY_LIMIT_CAP."""
        return QueueConfig(
            shards=self.simcrm_queue_shards,
            prefix=self.simcrm_key_prefix,
            concurrency=self.simcrm_concurrency,
            read_count=self.simcrm_read_count,
            visibility_ms=self.simcrm_visibility_ms,
            heartbeat_ms=self.simcrm_visibility_ms // 3,
            grace_ms=self.simcrm_grace_ms,
            dead_sample_max=self.dlq_sample_max,
            replay_limit_cap=self.dlq_replay_limit_cap,
        )

    def retry_policies(self) -> dict[str, RetryPolicy]:
        """The retry policy of every job type the engine knows, by type."""
        return {
            job_type: self.retry_policy(job_type) for job_type in PRIMARY_TYPES + SECONDARY_TYPES
        }

    def resolved_database_url(self) -> str:
        """DATABASE_URL, else a MySQL URL from the DB_* variables, else ``./simcrm.db``."""
        if self.database_url:
            return self.database_url
        if self.db_host:
            user = quote(self.db_user or "root", safe="")
            password = self.db_pass.get_secret_value() if self.db_pass else ""
            auth = f"{user}:{quote(password, safe='')}" if password else user
            return (
                f"mysql+asyncmy://{auth}@{self.db_host}:{self.db_port}/{self.db_name or 'simcrm'}"
            )
        return DEFAULT_DATABASE_URL

    def token_keys(self) -> dict[str, bytes]:
        """Encryption keys by key id: the current TOKEN_ENC_SECRET first, then older ones."""
        secrets = [self.token_enc_secret, *self.token_enc_old_secrets]
        keys: dict[str, bytes] = {}
        for secret in secrets:
            if secret is not None:
                raw = decode_secret(secret.get_secret_value())
                keys.setdefault(key_id(raw), raw)
        return keys


def _choice(value: Any, allowed: tuple[str, ...]) -> Any:
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if text not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return text


def key_id(raw_key: bytes) -> str:
    """A short public fingerprint of an encryption key, stored beside each ciphertext."""
    return hashlib.sha256(b"simcrm-key-id:" + raw_key).hexdigest()[:12]


def _variable_name(field: str, environ: Mapping[str, str]) -> str:
    """The environment variable a user set for ``field`` (the new naming when both are set)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        names = [str(choice) for choice in alias.choices if str(choice).isupper()]
        upper = {key.upper() for key in environ}
        return next((name for name in names if name in upper), names[0])
    return field.upper()


def load_settings() -> Settings:
    """Build Settings from the process environment, with one-line errors.

    Raises:
        SettingsError: naming the first bad variable, what it must be, and the value given
            (never the value of a secret).
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_first_problem(exc, os.environ)) from None


def _first_problem(exc: ValidationError, environ: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    loc = str(error["loc"][0]) if error["loc"] else ""
    field = next(
        (
            name
            for name, info in Settings.model_fields.items()
            if name == loc.lower()
            or (
                isinstance(info.validation_alias, AliasChoices)
                and loc in {str(c) for c in info.validation_alias.choices}
            )
        ),
        loc.lower(),
    )
    variable = _variable_name(field, environ)
    reason = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if not reason.startswith("must"):
        reason = f"is invalid: {reason}"
    sensitive = any(word in variable for word in ("SECRET", "TOKEN", "PASS", "KEY"))
    given = "" if sensitive else f" (got {str(error.get('input'))!r})"
    return f"{variable} {reason}{given}"
