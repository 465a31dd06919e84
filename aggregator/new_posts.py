"""New posts of a batch, judged one by one and inserted together with a few statements.

Rows, their change rows and the rules' log entries are each one `executemany` (SQLAlchemy's
"insertmanyvalues" gives back the ids with RETURNING, in order, on SQLite and PostgreSQL),
plus one for the sequence numbers of the posts that reached the screens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from aggregator.models import ModerationEntry, Post, utcnow
from aggregator.moderation.rules import Decision
from aggregator.store import Store

POSTS = sa.Table("posts", Post.metadata)  # the model's own table, from its metadata
LOG = sa.Table("moderation_log", ModerationEntry.metadata)
COLUMNS = tuple(c.name for c in POSTS.columns if c.name != "id")
_INSERT = sa.insert(POSTS).returning(POSTS.c.id, sort_by_parameter_order=True)
_SET_SEQ = (
    sa.update(POSTS).where(POSTS.c.id == sa.bindparam("post")).values(seq=sa.bindparam("change"))
)


@dataclass(frozen=True)
class Inserted:
    """One new post once stored: where it was in the batch, its id, and its change number."""

    index: int
    post: Post
    post_id: int
    seq: int


@dataclass
class NewPosts:
    """The new posts waiting to be inserted, and what identifies every new post of the batch
    (a later candidate naming one of them is looked up in the store once they are inserted)."""

    waiting: list[tuple[int, Post, Decision]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    prints: set[str] = field(default_factory=set)

    def names(self, post: Post) -> bool:
        """Whether the candidate may be (or copy) a new post of this batch."""
        return (
            post.external_id in self.ids
            or (post.dedupe_key is not None and post.dedupe_key in self.keys)
            or (post.fingerprint is not None and post.fingerprint in self.prints)
        )

    def add(self, index: int, post: Post, decision: Decision) -> None:
        post.status, post.status_reason = decision.status, decision.reason
        self.waiting.append((index, post, decision))
        self.ids.add(post.external_id)
        if post.dedupe_key:
            self.keys.add(post.dedupe_key)
        if post.fingerprint:
            self.prints.add(post.fingerprint)

    def insert(self, session: Session, store: Store) -> list[Inserted]:
        """Insert what waits, with its change rows and log entries, in the transaction."""
        if not self.waiting:
            return []
        waiting, self.waiting = self.waiting, []
        rows = [_row(post) for _, post, _ in waiting]
        ids = [int(i) for i in session.execute(_INSERT, rows).scalars()]
        changes = [
            ("post" if p.visible else "queue", i) for (_, p, _), i in zip(waiting, ids, strict=True)
        ]
        # Not for screens (they skip "queue"): the console's queue shows a held post live.
        seqs = store.add_changes(session, changes)
        shown = [
            {"post": i, "change": s} for (k, i), s in zip(changes, seqs, strict=True) if k == "post"
        ]
        if shown:
            session.execute(_SET_SEQ, shown)
        _log(session, [(i, d) for (_, _, d), i in zip(waiting, ids, strict=True) if d.reason])
        return [
            Inserted(index, post, post_id, seq)
            for (index, post, _), post_id, seq in zip(waiting, ids, seqs, strict=True)
        ]


def _row(post: Post) -> dict[str, Any]:
    return {name: getattr(post, name) for name in COLUMNS}


def _log(session: Session, decided: list[tuple[int, Decision]]) -> None:
    if not decided:
        return
    now = utcnow()
    entries = [
        {
            "at": now,
            "actor": "rules",
            "action": f"rules:{d.status}",
            "post_id": i,
            "detail": d.reason,
        }
        for i, d in decided
    ]
    session.execute(sa.insert(LOG), entries)
