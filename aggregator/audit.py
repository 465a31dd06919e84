"""The audit log: who did what to which post or rule, and when; read back, filtered, exported.

Every staff action (decisions, undo, rule changes, accounts, screens, sources) and every
rule's own decision writes a ModerationEntry in the same transaction as the change itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from sqlmodel import col, select

from aggregator.export import safe_cell
from aggregator.models import ModerationEntry, utcnow
from aggregator.store import Store

LIMIT = 500
COLUMNS = ("at", "actor", "action", "post_id", "detail")


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""  # a prefix: "rule" matches every rule change
    post_id: int | None = None
    text: str = ""

    def select(self) -> object:
        query = select(ModerationEntry)
        if self.actor:
            query = query.where(ModerationEntry.actor == self.actor)
        if self.action:
            query = query.where(col(ModerationEntry.action).startswith(self.action))
        if self.post_id is not None:
            query = query.where(ModerationEntry.post_id == self.post_id)
        if self.text:
            query = query.where(col(ModerationEntry.detail).ilike(f"%{self.text}%"))
        return query.order_by(col(ModerationEntry.id).desc())


def entry(actor: str, action: str, detail: str) -> ModerationEntry:
    """A staff action's line in the log, now; the caller adds it to the action's transaction."""
    return ModerationEntry(at=utcnow(), actor=actor, action=action, detail=detail)


def entries(store: Store, wanted: AuditFilter, limit: int | None = LIMIT) -> list[ModerationEntry]:
    query = wanted.select()
    if limit is not None:
        query = query.limit(limit)  # type: ignore[attr-defined]
    with store.read() as session:
        return list(session.exec(query))  # type: ignore[call-overload]


def actors(store: Store) -> list[str]:
    with store.read() as session:
        found = session.exec(select(ModerationEntry.actor).distinct())
        return sorted(found)


def write_csv(rows: Iterable[ModerationEntry], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for entry in rows:
        # A rule's detail quotes posts and names: written as text, never as a formula.
        line = [entry.at.isoformat(), entry.actor, entry.action, entry.post_id or "", entry.detail]
        writer.writerow([safe_cell(value or "") for value in line])
        count += 1
    return count
