"""Which posts a moderator is looking at: the queue's filter, which the exports reuse.

One definition serves the database query (`select`) and the live stream's check of one post
(`accepts`), so a post the queue lists is a post its stream keeps, and an export holds exactly
what the queue showed with the same filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlmodel import col, select

from aggregator.models import Post

STATUSES = ("pending", "approved", "rejected", "retracted", "all")
TEXT_FIELDS = ("source", "network", "language", "author", "text")


@dataclass(frozen=True)
class PostFilter:
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
    def from_params(cls, params: Mapping[str, str], default: str = "pending") -> PostFilter:
        """The filter of a query string; unknown statuses fall back to `default`."""
        status = params.get("status", default)
        values: dict[str, Any] = {k: params.get(k, "").strip()[:100] for k in TEXT_FIELDS}
        return cls(status=status if status in STATUSES else default, **values)

    @classmethod
    def from_query(cls, query: str) -> PostFilter:
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
