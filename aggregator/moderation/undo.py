"""Undo: each staff session's last decisions, kept in the store for a few seconds.

The undo request may reach another web process than the decision did (`serve --workers N`,
or services behind a balancer), so what it restores cannot live in one process's memory.
One row per session, replaced by each decision and taken (deleted) by the undo, which
therefore happens at most once whichever process receives it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col

from aggregator.models import utc_column, utcnow
from aggregator.moderation import edits
from aggregator.moderation.decisions import Outcome
from aggregator.store import Store


class UndoableDecisions(SQLModel, table=True):
    __tablename__ = "undoable_decisions"

    # Whose decisions: the staff session's number, or the API token's name.
    owner: str = Field(primary_key=True, max_length=120)
    outcomes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False)
    )
    expires_at: datetime = utc_column(nullable=False, index=True)


def _to_row(outcome: Outcome) -> dict[str, Any]:
    return {
        "post_id": outcome.post_id,
        "action": outcome.action,
        "status": outcome.status,
        "seq": outcome.seq,
        "previous": edits.encode(outcome.previous),
    }


def _from_row(row: dict[str, Any]) -> Outcome:
    previous = edits.decode(row["previous"])
    return Outcome(row["post_id"], row["action"], row["status"], row["seq"], previous)


def remember(store: Store, owner: str, outcomes: list[Outcome], lifetime: timedelta) -> None:
    """Keep `owner`'s last decisions, undoable until `lifetime` from now (replacing older ones)."""
    now = utcnow()
    with store.write() as session:
        # Expired rows of every session go too: the table holds only the last few seconds.
        session.execute(
            sa.delete(UndoableDecisions).where(
                (col(UndoableDecisions.expires_at) < now) | (col(UndoableDecisions.owner) == owner)
            )
        )
        session.add(
            UndoableDecisions(
                owner=owner, outcomes=[_to_row(o) for o in outcomes], expires_at=now + lifetime
            )
        )


def take(store: Store, owner: str) -> list[Outcome]:
    """`owner`'s last decisions if still undoable (then forgotten), else nothing."""
    with store.write() as session:
        row = session.get(UndoableDecisions, owner)
        if row is None:
            return []
        session.delete(row)
        if row.expires_at < utcnow():
            return []
        return [_from_row(outcome) for outcome in row.outcomes]
