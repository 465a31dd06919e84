"""wall: whether a screen holds its offline copy (its service worker is ready)

Revision ID: 0007_screen_offline
Revises: 0005_message_image
Create Date: 2026-11-25 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_screen_offline"
# Continues the wall branch: the screens' heartbeat is the wall's.
down_revision: str | None = "0005_message_image"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("screens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offline_copy", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("screens", schema=None) as batch_op:
        batch_op.drop_column("offline_copy")
