"""shared state: failed logins and undoable decisions, for several web processes

Revision ID: 0013_shared_state
Revises: 0012_slides
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aggregator.migrations import column_types

revision: str = "0013_shared_state"
down_revision: str | None = "0012_slides"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
When = column_types.UTCDateTime


def upgrade() -> None:
    # Both were kept in one web process's memory; with several processes they must be shared.
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count", String(length=10), nullable=False),
        sa.Column("key_hash", String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)
        batch_op.create_index("ix_login_failures_count_key", ["count", "key_hash"], unique=False)
    op.create_table(
        "undoable_decisions",
        sa.Column("owner", String(length=120), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("expires_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("owner"),
    )
    with op.batch_alter_table("undoable_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_undoable_decisions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("undoable_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_undoable_decisions_expires_at"))
    op.drop_table("undoable_decisions")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_count_key")
        batch_op.drop_index(batch_op.f("ix_login_failures_at"))
    op.drop_table("login_failures")
