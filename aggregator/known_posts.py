"""The stored posts a collector's batch may already hold, found with a few queries per batch.

A candidate is a post already stored when its source and external id, or its network-wide
key (a Mastodon `uri` seen on two servers), match a row; it is a cross-post when the same
author wrote the same words on another network within `CROSSPOST_WINDOW`. Both are read for
the whole batch at once, each list of values as one parameter (driver_rows.where_in).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col, select

from aggregator.draft import Draft
from aggregator.driver_rows import listed, where_in
from aggregator.models import Post

# Same author, same text, on another network within this window: one post.
CROSSPOST_WINDOW = timedelta(hours=6)
# Ids in one IN list when loading the stored rows (well under SQLite's 32,766 variables).
CHUNK = 5_000
POSTS = sa.Table("posts", Post.metadata)
TEXT = sa.String()


def chunks(values: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def stored_ids(session: Session, source: str, external_ids: Sequence[str]) -> dict[str, int]:
    """The ids of the source's stored posts among these external ids, by external id (one
    indexed query, the list as one parameter; the statement, Core, does not flush the session:
    the caller does when it changed posts through the ORM)."""
    dialect = session.get_bind().dialect
    values = {"source": source, "listed": listed(external_ids, dialect)}
    return {
        external_id: post_id
        for external_id, post_id in session.connection().execute(_ids(dialect), values)
    }


@cache
def _ids(dialect: Dialect) -> sa.Select[Any]:
    query = sa.select(POSTS.c.external_id, POSTS.c.id).where(
        POSTS.c.source == sa.bindparam("source")
    )
    return where_in(query, POSTS.c.external_id, "listed", TEXT, dialect)


@cache
def _keyed(dialect: Dialect) -> sa.Select[Any]:
    return where_in(sa.select(POSTS.c.id), POSTS.c.dedupe_key, "listed", TEXT, dialect)


@cache
def _printed(dialect: Dialect, one_network: bool) -> sa.Select[Any]:
    """Stored posts by fingerprint since a time (with `one_network`, of another network
    than the batch's)."""
    columns = (POSTS.c.id, POSTS.c.fingerprint, POSTS.c.network, POSTS.c.created_at)
    same = POSTS.c.created_at >= sa.bindparam("since", type_=POSTS.c.created_at.type)
    if one_network:  # the usual batch: one network, whose own posts never join
        same &= POSTS.c.network != sa.bindparam("network")
    query = sa.select(*columns, POSTS.c.status).where(same).order_by(POSTS.c.id)
    return where_in(query, POSTS.c.fingerprint, "listed", TEXT, dialect)


@dataclass(frozen=True)
class Copied:
    """A stored post a cross-post joins: only what deciding and reporting need."""

    id: int
    network: str
    created_at: datetime
    status: str


@dataclass
class KnownPosts:
    """The stored posts matching a batch's candidates, by what identifies them."""

    by_id: dict[str, Post] = field(default_factory=dict)  # external id, in this source
    by_key: dict[str, Post] = field(default_factory=dict)  # network-wide dedupe key
    by_fingerprint: dict[str, list[Copied]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, source: str, posts: Sequence[Draft]) -> KnownPosts:
        known = cls()
        # Core statements, which do not flush: what the batch changed so far is read back.
        session.flush()
        known._load_ids(session, source, posts)
        known._load_fingerprints(session, posts)
        return known

    def find(self, post: Draft) -> Post | None:
        """The stored post this candidate is (the oldest, when its id and key name two)."""
        found = self.by_id.get(post.external_id)
        keyed = self.by_key.get(post.dedupe_key) if post.dedupe_key else None
        if keyed is None or (found is not None and _id(found) <= _id(keyed)):
            return found
        return keyed

    def crosspost(self, post: Draft) -> Copied | None:
        """The stored post of another network this one is a copy of, if any."""
        copies = self.by_fingerprint.get(post.fingerprint) if post.fingerprint else None
        if not copies:  # the usual case: checked before any date arithmetic
            return None
        since = post.created_at - CROSSPOST_WINDOW
        return next(
            (
                other
                for other in copies
                if other.network != post.network and other.created_at >= since
            ),
            None,
        )

    def _load_ids(self, session: Session, source: str, posts: Sequence[Draft]) -> None:
        """Which posts exist, by two indexed lookups; the rows themselves, as models to edit,
        only for those (a batch of new posts loads none)."""
        found = set(stored_ids(session, source, [p.external_id for p in posts]).values())
        keys = [p.dedupe_key for p in posts if p.dedupe_key]
        if keys:
            dialect = session.get_bind().dialect
            keyed = session.connection().execute(_keyed(dialect), {"listed": listed(keys, dialect)})
            found |= {post_id for (post_id,) in keyed}
        for chunk in chunks(sorted(found)):
            query = select(Post).where(col(Post.id).in_(chunk)).order_by(col(Post.id))
            self._keep_ids(session.exec(query), source)

    def _keep_ids(self, found: Iterator[Post], source: str) -> None:
        for post in found:
            if post.source == source:
                self.by_id.setdefault(post.external_id, post)
            if post.dedupe_key:
                self.by_key.setdefault(post.dedupe_key, post)

    def _load_fingerprints(self, session: Session, posts: Sequence[Draft]) -> None:
        prints = [p.fingerprint for p in posts if p.fingerprint]
        if not prints:
            return
        since = min(p.created_at for p in posts) - CROSSPOST_WINDOW
        networks = {p.network for p in posts}
        dialect = session.get_bind().dialect
        query = _printed(dialect, len(networks) == 1)
        values = {
            "since": since,
            "network": next(iter(networks)),
            "listed": listed(prints, dialect),
        }
        for post_id, fingerprint, network, created_at, status in session.connection().execute(
            query, values
        ):
            copied = Copied(post_id, network, created_at, status)
            self.by_fingerprint.setdefault(fingerprint, []).append(copied)


def _id(post: Post) -> int:
    return post.id or 0
