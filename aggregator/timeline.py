"""What screens and the public API may show: approved, not deleted, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from aggregator.models import Post
from aggregator.store import Store


@dataclass(frozen=True)
class Filter:
    """A screen's selection; empty tuples mean everything."""

    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()

    def accepts(self, post: Post) -> bool:
        if self.sources and post.source not in self.sources:
            return False
        if self.languages and post.language not in self.languages:
            return False
        if self.hashtags:
            wanted = {tag.lower().lstrip("#") for tag in self.hashtags}
            return bool(wanted & {tag.lower() for tag in post.hashtags})
        return True


def visible(query: SelectOfScalar[Post]) -> SelectOfScalar[Post]:
    return query.where(col(Post.status) == "approved", col(Post.deleted).is_(False))


def latest(
    store: Store,
    limit: int = 30,
    before: int | None = None,
    selection: Filter = Filter(),
    pinned_first: bool = False,
) -> list[Post]:
    """Visible posts, newest arrival first (pinned ones first if asked); `before` pages by id."""
    query = visible(select(Post))
    if selection.sources:
        query = query.where(col(Post.source).in_(selection.sources))
    if selection.languages:
        query = query.where(col(Post.language).in_(selection.languages))
    if before is not None:
        query = query.where(col(Post.id) < before)
    # Hashtags live in a JSON list: filter in Python, reading a little more to fill the page.
    fetch = limit * 4 if selection.hashtags else limit
    order = [col(Post.pinned).desc()] if pinned_first else []
    query = query.order_by(*order, col(Post.id).desc()).limit(fetch)
    with store.read() as session:
        posts = list(session.exec(query))
    return [p for p in posts if selection.accepts(p)][:limit]


def by_ids(session: Session, ids: Sequence[int]) -> dict[int, Post]:
    if not ids:
        return {}
    found = session.exec(select(Post).where(col(Post.id).in_(ids)))
    return {post.id: post for post in found if post.id is not None}
