"""New posts of a batch, judged one by one and inserted together with a few statements.

Rows, their change rows and the rules' log entries are each one `executemany` (SQLAlchemy's
"insertmanyvalues" gives back the ids with RETURNING on SQLite and PostgreSQL alike),
plus one for the sequence numbers of the posts that reached the screens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from aggregator.draft import Draft
from aggregator.models import ModerationEntry, Post, utcnow
from aggregator.moderation.rules import Decision
from aggregator.store import Store

POSTS = sa.Table("posts", Post.metadata)  # the model's own table, from its metadata
LOG = sa.Table("moderation_log", ModerationEntry.metadata)
# Each id comes back with its external id, not in the order given: asking for that order
# (`sort_by_parameter_order`) makes SQLAlchemy send one row per statement on SQLite.
_INSERT = sa.insert(POSTS).returning(POSTS.c.external_id, POSTS.c.id)
_SET_SEQ = (
    sa.update(POSTS).where(POSTS.c.id == sa.bindparam("post")).values(seq=sa.bindparam("change"))
)


@dataclass(frozen=True)
class Inserted:
    """One new post once stored: where it was in the batch, its id, and its change number."""

    index: int
    post: Draft
    post_id: int
    seq: int


@dataclass
class NewPosts:
    """The new posts waiting to be inserted, and what identifies every new post of the batch
    (a later candidate naming one of them is looked up in the store once they are inserted)."""

    waiting: list[tuple[int, Draft, Decision]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    prints: dict[str, set[str]] = field(default_factory=dict)  # fingerprint: networks

    def names(self, post: Draft) -> bool:
        """Whether the candidate may be a new post of this batch, or copy one of another
        network (the same words twice on one network are two posts)."""
        return (
            post.external_id in self.ids
            or (post.dedupe_key is not None and post.dedupe_key in self.keys)
            or bool(self.prints.get(post.fingerprint or "", set()) - {post.network})
        )

    def add(self, index: int, post: Draft, decision: Decision) -> None:
        post.status, post.status_reason = decision.status, decision.reason
        self.waiting.append((index, post, decision))
        self.ids.add(post.external_id)
        if post.dedupe_key:
            self.keys.add(post.dedupe_key)
        if post.fingerprint:
            self.prints.setdefault(post.fingerprint, set()).add(post.network)

    def insert(self, session: Session, store: Store) -> list[Inserted]:
        """Insert what waits, with its change rows and log entries, in the transaction."""
        if not self.waiting:
            return []
        waiting, self.waiting = self.waiting, []
        rows = [post.row() for _, post, _ in waiting]
        given = dict(session.execute(_INSERT, rows).all())
        ids = [int(given[post.external_id]) for _, post, _ in waiting]
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
