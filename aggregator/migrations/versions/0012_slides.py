"""wall: sponsor and announcement slides shown between posts on a schedule

Revision ID: 0012_slides
Revises: 0011_heartbeats
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aggregator.migrations import column_types

revision: str = "0012_slides"
down_revision: str | None = "0011_heartbeats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("image", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("screens", sa.JSON(), nullable=False),
        sa.Column("starts_at", column_types.UTCDateTime(), nullable=False),
        sa.Column("ends_at", column_types.UTCDateTime(), nullable=False),
        sa.Column("every_posts", sa.Integer(), nullable=True),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("show_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", column_types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("cleared_at", column_types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("slides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slides_ends_at"), ["ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slides_ends_at"))
    op.drop_table("slides")
