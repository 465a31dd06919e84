"""merge the wall, console and digest branches: one history from here on

Revision ID: 0008_one_history
Revises: 0007_screen_offline, 0006, 0003_console
Create Date: 2026-11-28 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008_one_history"
# Every later revision has exactly one parent: the order they were applied is the order shown.
down_revision: str | Sequence[str] | None = ("0007_screen_offline", "0006", "0003_console")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
