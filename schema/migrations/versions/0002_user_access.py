"""Users can be disabled, and an API key revoked: ``users.disabled_at``, a nullable key hash.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schema.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled_at", UTCDateTime(), nullable=True))
        batch.alter_column(
            "api_key_hash", existing_type=sa.String(64), existing_nullable=False, nullable=True
        )


def downgrade() -> None:
    # A user whose key was revoked gets an unusable placeholder hash: the column needs a value.
    op.execute(
        sa.text(
            "UPDATE users SET api_key_hash = 'revoked-' || id WHERE api_key_hash IS NULL"
            if op.get_bind().dialect.name == "sqlite"
            else "UPDATE users SET api_key_hash = CONCAT('revoked-', id) WHERE api_key_hash IS NULL"
        )
    )
    with op.batch_alter_table("users") as batch:
        batch.alter_column(
            "api_key_hash", existing_type=sa.String(64), existing_nullable=True, nullable=False
        )
        batch.drop_column("disabled_at")
