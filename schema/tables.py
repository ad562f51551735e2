"""Table definitions: the one MetaData the migrations are checked against.

Times are stored as UTC without a zone (MySQL's DATETIME has none) and read back as aware UTC
datetimes by :class:`UTCDateTime`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, naive UTC stored (microseconds kept), aware UTC datetimes out."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes stored in SimCRM must carry a timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("api_key_hash", String(64), nullable=True, unique=True),  # NULL: key revoked
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),  # set: the user may not call the API
)

hubspot_credentials = Table(
    "hubspot_credentials",
    metadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("portal_id", BigInteger, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

simulations = Table(
    "simulations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("scenario", String(64), nullable=False),
    Column("scenario_overrides", JSON, nullable=False),
    Column("distribution_method", String(32), nullable=False),
    Column("distribution_params", JSON, nullable=False),
    Column("calendar", JSON, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("start_time", UTCDateTime(), nullable=False),
    Column("end_time", UTCDateTime(), nullable=False),
    Column("total_records", BigInteger, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("time_scale", Float, nullable=False),
    Column("backfill", Boolean, nullable=False),
    Column("target", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id"),
    Index(None, "status"),
)

# Job types and metrics name the counters; the longest today is ``deal_stage_update`` (17).
COUNTER_NAME_LENGTH = 32

simulation_counters = Table(
    "simulation_counters",
    metadata,
    Column(
        "simulation_id",
        Integer,
        ForeignKey("simulations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("object_type", String(COUNTER_NAME_LENGTH), primary_key=True),
    Column("metric", String(COUNTER_NAME_LENGTH), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
