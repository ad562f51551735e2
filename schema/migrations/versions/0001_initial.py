"""Users, HubSpot credentials, simulations and their durable counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schema.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("api_key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("api_key_hash", name="uq_users_api_key_hash"),
    )
    op.create_table(
        "hubspot_credentials",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("portal_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_hubspot_credentials"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_hubspot_credentials_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "simulations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("scenario_overrides", sa.JSON, nullable=False),
        sa.Column("distribution_method", sa.String(32), nullable=False),
        sa.Column("distribution_params", sa.JSON, nullable=False),
        sa.Column("calendar", sa.JSON, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("start_time", UTCDateTime(), nullable=False),
        sa.Column("end_time", UTCDateTime(), nullable=False),
        sa.Column("total_records", sa.BigInteger, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("time_scale", sa.Float, nullable=False),
        sa.Column("backfill", sa.Boolean, nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_simulations"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_simulations_owner_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_simulations_owner_id", "simulations", ["owner_id"])
    op.create_index("ix_simulations_status", "simulations", ["status"])
    op.create_table(
        "simulation_counters",
        sa.Column("simulation_id", sa.Integer, nullable=False),
        sa.Column("object_type", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "simulation_id", "object_type", "metric", name="pk_simulation_counters"
        ),
        sa.ForeignKeyConstraint(
            ["simulation_id"],
            ["simulations.id"],
            name="fk_simulation_counters_simulation_id_simulations",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("simulation_counters")
    op.drop_table("simulations")
    op.drop_table("hubspot_credentials")
    op.drop_table("users")
