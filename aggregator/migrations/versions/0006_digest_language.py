"""digest: each language's edition is sent, and recorded, on its own

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-26 09:00:00

The sending columns move from `digests` (one row per published day) to `digest_sends`
(one row per day and language). A day's existing sending state becomes its French row:
the French edition was the only one sent before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aggregator.migrations import column_types

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENDING_COLUMNS = ("state", "sending_at", "sent_at", "recipients", "attempts", "error")


def upgrade() -> None:
    op.create_table(
        "digest_sends",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("sending_at", column_types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", column_types.UTCDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("day", "language"),
    )
    # "published" meant: never claimed for sending, so no row.
    op.execute(
        "INSERT INTO digest_sends "
        "(day, language, state, sending_at, sent_at, recipients, attempts, error) "
        "SELECT day, 'fr', state, sending_at, sent_at, recipients, attempts, error "
        "FROM digests WHERE state <> 'published'"
    )
    with op.batch_alter_table("digests") as batch:
        for column in SENDING_COLUMNS:
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.add_column(
            sa.Column(
                "state",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="published",
            )
        )
        batch.add_column(sa.Column("sending_at", column_types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("sent_at", column_types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("recipients", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    # Only the French edition existed before this revision: its state goes back to the day.
    op.execute(
        "UPDATE digests SET "
        + ", ".join(
            f"{column} = (SELECT s.{column} FROM digest_sends s "
            "WHERE s.day = digests.day AND s.language = 'fr')"
            for column in SENDING_COLUMNS
        )
        + " WHERE EXISTS (SELECT 1 FROM digest_sends s "
        "WHERE s.day = digests.day AND s.language = 'fr')"
    )
    op.drop_table("digest_sends")
