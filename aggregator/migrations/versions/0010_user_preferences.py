"""users: each member of staff's own preferences (language, shortcuts, notifications)

Revision ID: 0010_user_preferences
Revises: 0009_pending_edit
Create Date: 2026-11-28 08:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_user_preferences"
down_revision: str | None = "0009_pending_edit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts start with no preferences; new rows get theirs from the application.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferences", sa.JSON(), nullable=True))
    op.execute("UPDATE users SET preferences = '{}'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("preferences", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("preferences")
