"""New posts of a batch, judged one by one and inserted together with a few statements.

Their ids are reserved first (`reserve_ids`), so their change rows are written before them and
each row goes in whole, change number included; rows, change rows and the rules' log entries
are each one `executemany` through the driver (driver_rows.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from aggregator.draft import ROW, Draft
from aggregator.driver_rows import DriverRows
from aggregator.models import LOGGED, MODERATION_LOG, Post, utcnow
from aggregator.moderation.rules import Decision
from aggregator.store import Store

POSTS = sa.Table("posts", Post.metadata)  # the model's own table, from its metadata


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
        if post.external_id in self.ids or (post.dedupe_key and post.dedupe_key in self.keys):
            return True
        networks = self.prints.get(post.fingerprint) if post.fingerprint else None
        return networks is not None and any(n != post.network for n in networks)

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
        rows = DriverRows(session)
        ids = reserve_ids(session, len(waiting))
        # The change rows first (no key ties them to the posts): each post goes in with its
        # change number, in one statement, where an UPDATE per post would follow the insert.
        # Not for screens (they skip "queue"): the console's queue shows a held post live.
        changes = [
            ("post" if p.visible else "queue", i) for (_, p, _), i in zip(waiting, ids, strict=True)
        ]
        seqs = store.add_changes(session, changes)
        for (_, post, _), post_id, seq in zip(waiting, ids, seqs, strict=True):
            post.id, post.seq = post_id, seq if post.visible else 0
        rows.insert(POSTS, ("id", *ROW), ((post.id, *post.values()) for _, post, _ in waiting))
        now = utcnow()
        logged = [
            (now, "rules", f"rules:{d.status}", i, d.reason)
            for (_, _, d), i in zip(waiting, ids, strict=True)
            if d.reason
        ]
        rows.insert(MODERATION_LOG, LOGGED, logged)
        return [
            Inserted(index, post, post_id, seq)
            for (index, post, _), post_id, seq in zip(waiting, ids, seqs, strict=True)
        ]


def reserve_ids(session: Session, count: int) -> list[int]:
    """`count` new post ids, in increasing order. PostgreSQL draws them from the column's
    sequence; SQLite gives a row the highest id plus one, and a writing transaction holds the
    store's only write lock from its first statement (BEGIN IMMEDIATE), so the ids after the
    highest are free until it commits."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        highest = connection.execute(_HIGHEST).scalar() or 0
        return list(range(highest + 1, highest + 1 + count))
    drawn = connection.execute(_DRAWN, {"count": count}).scalars()
    return sorted(drawn)


_HIGHEST = sa.select(sa.func.max(POSTS.c.id))
_DRAWN = sa.text(
    "SELECT nextval(pg_get_serial_sequence('posts', 'id')) FROM generate_series(1, :count)"
)
