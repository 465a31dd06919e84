"""posts: an edit held for moderation while the screens keep the approved version

Revision ID: 0009_pending_edit
Revises: 0008_one_history
Create Date: 2026-11-28 06:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_pending_edit"
down_revision: str | None = "0008_one_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_edit", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("pending_edit")
