"""heartbeats: the scheduler's last tick, for /readyz in another process

Revision ID: 0011_heartbeats
Revises: 0010_user_preferences
Create Date: 2026-11-28 09:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aggregator.migrations import column_types

revision: str = "0011_heartbeats"
down_revision: str | None = "0010_user_preferences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", column_types.UTCDateTime(), nullable=False),
        sa.Column("last_tick", column_types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("role"),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
