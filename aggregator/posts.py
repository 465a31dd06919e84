"""The posts service: what the web layer reads of posts, by id, newest first, or live now.

Every method blocks (the wall runs them in threads); the queries live in `timeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import col, select

from aggregator import export
from aggregator.models import Post
from aggregator.moderation.queue import QueueFilter
from aggregator.store import Store
from aggregator.timeline import Filter, by_ids, latest, visible


class Posts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, post_id: int) -> Post | None:
        with self.store.read() as session:
            return session.get(Post, post_id)

    def by_ids(self, ids: Sequence[int]) -> dict[int, Post]:
        with self.store.read() as session:
            return by_ids(session, ids)

    def latest(
        self,
        limit: int = 30,
        before: int | None = None,
        selection: Filter | None = None,
        pinned_first: bool = False,
    ) -> list[Post]:
        return latest(self.store, limit, before, selection or Filter(), pinned_first)

    def live_broadcasts(self, limit: int = 5) -> list[Post]:
        """The official live streams on air now, newest first."""
        query = (
            visible(select(Post))
            .where((Post.kind == "live") & (Post.live_state == "live"))
            .where(col(Post.official).is_(True))
            .order_by(col(Post.id).desc())
            .limit(limit)
        )
        with self.store.read() as session:
            return list(session.exec(query))

    def export_batch(self, wanted: QueueFilter, after_id: int = 0) -> list[dict[str, Any]]:
        """The next batch of an export past `after_id`, as rows (aggregator/export.py)."""
        return export.export_batch(self.store, wanted, after_id)

    def hourly_counts(
        self, zone: tzinfo, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[str, str, str, str, int]]:
        """Posts per hour of arrival, source, network and status, for the statistics export."""
        return export.hourly_counts(self.store, zone, since, until)
