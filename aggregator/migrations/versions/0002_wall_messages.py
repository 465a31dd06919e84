"""wall: staff messages on the screens

Revision ID: 0002_wall
Revises: 0001
Create Date: 2026-11-25 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aggregator.migrations import column_types

revision: str = "0002_wall"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("wall",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("screens", sa.JSON(), nullable=False),
        sa.Column("created_at", column_types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("ends_at", column_types.UTCDateTime(), nullable=True),
        sa.Column("cleared_at", column_types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_cleared_at"), ["cleared_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_cleared_at"))
    op.drop_table("messages")
