"""console: staff sessions, API tokens and the live rules

Revision ID: 0003_console
Revises: 0001
Create Date: 2026-11-25 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aggregator.migrations import column_types

revision: str = "0003_console"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("console",)
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
When = column_types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", String(length=64), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("last_seen", When(), nullable=False),
        sa.Column("address", String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", String(length=100), nullable=False),
        sa.Column("token_hash", String(length=64), nullable=False),
        sa.Column("role", String(length=20), nullable=False),
        sa.Column("created_by", String(length=100), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("last_used", When(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "rule_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", String(length=20), nullable=False),
        sa.Column("value", String(length=300), nullable=False),
        sa.Column("language", String(length=10), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("created_by", String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "value", "language", name="uq_rule_entries_kind_value"),
    )
    op.create_table(
        "rule_settings",
        sa.Column("name", String(length=40), nullable=False),
        sa.Column("value", String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("rule_settings")
    op.drop_table("rule_entries")
    op.drop_table("api_tokens")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_user_id"))
    op.drop_table("staff_sessions")
