"""Counter names up to 32 characters: ``deal_stage_update`` (17) did not fit the 16 of 0001, which
MySQL/MariaDB refused on every flush of a run with deal stage updates (SQLite does not check).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME_LENGTH = 32
COLUMNS = ("object_type", "metric")


def upgrade() -> None:
    with op.batch_alter_table("simulation_counters") as batch:
        for column in COLUMNS:
            batch.alter_column(
                column,
                existing_type=sa.String(16),
                type_=sa.String(NAME_LENGTH),
                existing_nullable=False,
            )


def downgrade() -> None:
    with op.batch_alter_table("simulation_counters") as batch:
        for column in COLUMNS:
            batch.alter_column(
                column,
                existing_type=sa.String(NAME_LENGTH),
                type_=sa.String(16),
                existing_nullable=False,
            )
