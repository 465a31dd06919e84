"""A post as the digest shows it: what the day's selection, its highlights, its parts and
its program sessions are made of (select.to_digest_post makes them from stored posts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Image:
    path: str  # on the wall's origin: prefix the public URL for an email
    alt: str


@dataclass(frozen=True)
class DigestPost:
    id: int
    url: str | None
    network: str
    kind: str
    author_name: str
    author_handle: str
    title: str | None
    text: str  # empty when the post is content-warned
    html: str  # idem
    warning: str | None
    image: Image | None
    avatar: str | None  # a path on the wall's origin, like Image.path
    posted_at: datetime  # in the event's time zone
    likes: int
    shares: int
    replies: int
    featured: bool
    official: bool
    live_state: str | None
    engagement: int = 0
    score: float = 0.0  # engagement relative to the network's average that day
