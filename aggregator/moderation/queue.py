"""The moderation queue: the posts staff filter and decide, and the service the console calls.

A decision no screen sees (a held post rejected, an edit refused) still writes a "queue"
change, so every moderator's console follows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlmodel import col, select

from aggregator.i18n import N_
from aggregator.models import Post
from aggregator.moderation import undo
from aggregator.moderation.decisions import (
    ModerationError,
    Outcome,
    Wanted,
    decide_all,
    restore_all,
)
from aggregator.moderation.live_rules import LiveRules
from aggregator.moderation.rules import Rules
from aggregator.moderation.waiting import Waiting, summary
from aggregator.store import Store

# Shown translated in the console's filter: marked for the catalogues.
STATUSES = (N_("pending"), N_("approved"), N_("rejected"), N_("retracted"), N_("all"))
TEXT_FIELDS = ("source", "network", "language", "author", "text")


@dataclass(frozen=True)
class QueueFilter:
    """Which posts a moderator is looking at; the exports take the same filter, with dates.

    One definition serves the query (`select`) and the live check of one post (`accepts`), so a
    post the queue lists is a post its stream keeps.
    """

    status: str = "pending"
    source: str = ""
    network: str = ""
    language: str = ""
    author: str = ""
    text: str = ""
    # Arrival at the source (created_at), from `since` included to `until` excluded, in UTC.
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], default: str = "pending") -> QueueFilter:
        """The filter of a query string; unknown statuses fall back to `default`."""
        status = params.get("status", default)
        values: dict[str, Any] = {k: params.get(k, "").strip()[:100] for k in TEXT_FIELDS}
        return cls(status=status if status in STATUSES else default, **values)

    @classmethod
    def from_query(cls, query: str) -> QueueFilter:
        return cls.from_params(dict(parse_qsl(query.lstrip("?"))))

    def query_string(self) -> str:
        values = {k: v for k, v in asdict(self).items() if v and k in ("status", *TEXT_FIELDS)}
        return urlencode(values)

    def select(self) -> Any:
        query = select(Post).where(col(Post.deleted).is_(False))
        if self.status == "pending":  # an approved post's held edit waits like a new post
            query = query.where(
                (col(Post.status) == "pending")
                | ((col(Post.status) == "approved") & col(Post.pending_edit).is_not(None))
            )
        elif self.status != "all":
            query = query.where(Post.status == self.status)
        for name in ("source", "network", "language"):
            if value := getattr(self, name):
                query = query.where(getattr(Post, name) == value)
        if self.author:
            like = f"%{self.author}%"
            query = query.where(
                col(Post.author_handle).ilike(like) | col(Post.author_name).ilike(like)
            )
        if self.text:
            query = query.where(col(Post.text).ilike(f"%{self.text}%"))
        if self.since is not None:
            query = query.where(col(Post.created_at) >= self.since)
        if self.until is not None:
            query = query.where(col(Post.created_at) < self.until)
        return query

    def accepts(self, post: Post) -> bool:
        who = f"{post.author_handle} {post.author_name}".casefold()
        edit_waits = post.status == "approved" and post.pending_edit is not None
        return (
            not post.deleted
            and (self.status in ("all", post.status) or (self.status == "pending" and edit_waits))
            and self.source in ("", post.source)
            and self.network in ("", post.network)
            and self.language in ("", post.language)
            and self.author.casefold() in who
            and self.text.casefold() in post.text.casefold()
            and (self.since is None or post.created_at >= self.since)
            and (self.until is None or post.created_at < self.until)
        )


@dataclass(frozen=True)
class QueuePage:
    posts: list[Post]  # newest first, at most the page's limit
    count: int  # how many the filter matches in all
    languages: list[str]  # every language posts are in, for the filter's menu


class Moderation:
    """What staff do to posts, and what they see of the queue (every method blocks)."""

    def __init__(self, store: Store, live_rules: LiveRules) -> None:
        self.store = store
        self.live_rules = live_rules

    def waiting(self, now: datetime | None = None) -> Waiting:
        """How many posts wait for a decision, and since when (the consoles' alerts)."""
        return summary(self.store, QueueFilter(status="pending").select(), now)

    def rules(self) -> Rules:
        """The rules in force: the configured ones with what staff added in the console."""
        with self.store.read() as session:
            return self.live_rules.current(session)[0]

    def page(self, wanted: QueueFilter, limit: int) -> QueuePage:
        with self.store.read() as session:
            query = wanted.select()
            posts = list(session.exec(query.order_by(col(Post.id).desc()).limit(limit)))
            count = session.execute(
                sa.select(sa.func.count()).select_from(query.subquery())
            ).scalar_one()
            languages = session.execute(
                sa.select(col(Post.language)).distinct().where(col(Post.language).is_not(None))
            ).all()
        return QueuePage(posts, int(count), sorted(str(row[0]) for row in languages))

    def decide_all(
        self, wanted: Sequence[Wanted], action: str, actor: str
    ) -> tuple[list[Outcome], dict[int, ModerationError]]:
        """A selection, in one transaction: what was decided, and what was refused and why."""
        return decide_all(self.store, wanted, action, actor)

    def restore_all(self, outcomes: list[Outcome], actor: str) -> list[Outcome]:
        """Undo decisions, the last first, in one transaction."""
        return restore_all(self.store, outcomes, actor)

    def remember_undo(self, owner: str, outcomes: list[Outcome], lifetime: timedelta) -> None:
        """`owner`'s last decisions, for an undo that may reach any web process."""
        undo.remember(self.store, owner, outcomes, lifetime)

    def take_undo(self, owner: str) -> list[Outcome]:
        """`owner`'s last decisions if still undoable (once: they are then forgotten)."""
        return undo.take(self.store, owner)
