"""What waits for a moderator (how many posts, how long the oldest has waited) and how each
moderator wants to be told (their alerts).

Every console page shows the count (tab title, favicon) and warns its moderator when the
oldest post has waited too long, so this is read after every change batch of the console's
stream: one query over the waiting posts' few columns, never their text. The queue's service
(`Moderation.waiting`) gives it the queue's own query of pending posts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from aggregator.models import Post, utcnow
from aggregator.store import Store


@dataclass(frozen=True)
class Waiting:
    count: int = 0
    newest_id: int = 0  # grows when a post arrives: the console's chime
    oldest_id: int = 0  # the post a notification is about, once per post
    oldest_seconds: float = 0.0  # how long it has waited, by the server's clock

    def as_json(self) -> dict[str, int | float]:
        return {
            "count": self.count,
            "newest": self.newest_id,
            "oldest": self.oldest_id,
            "waited": round(self.oldest_seconds, 1),
        }


def since(status: str, collected_at: datetime, edited_at: datetime | None) -> datetime:
    """A new post waits from its arrival; an approved post's held edit from the edit."""
    if status == "approved" and edited_at is not None:
        return max(collected_at, edited_at)
    return collected_at


def summary(store: Store, pending: Any, now: datetime | None = None) -> Waiting:
    """What waits among the posts of the query `pending` (a select of posts)."""
    now = now or utcnow()
    columns = (Post.id, Post.status, Post.collected_at, Post.edited_at)
    with store.read() as session:
        rows = list(session.execute(pending.with_only_columns(*columns)))
    if not rows:
        return Waiting()
    arrivals = [
        (since(status, collected, edited), int(post_id))
        for post_id, status, collected, edited in rows
    ]
    first, first_id = min(arrivals)
    seconds = max((now - first).total_seconds(), 0.0)
    return Waiting(len(rows), max(post_id for _, post_id in arrivals), first_id, seconds)


# How each moderator wants to be told (kept in their account's preferences, key "notify")

PREFERENCE = "notify"
AFTER_RANGE = (10, 86_400)


@dataclass(frozen=True)
class Alerts:
    sound: bool = False  # a chime in the console when a post arrives
    notifications: bool = True  # a browser notification when one has waited `after` seconds
    after: int = 120

    @classmethod
    def of(cls, preferences: Mapping[str, Any], default_after: int) -> Alerts:
        """A user's choices; anything missing or malformed is the default."""
        chosen = preferences.get(PREFERENCE)
        chosen = chosen if isinstance(chosen, dict) else {}
        after = chosen.get("after")
        low, high = AFTER_RANGE
        if isinstance(after, bool) or not isinstance(after, int) or not low <= after <= high:
            after = default_after
        return cls(
            sound=chosen.get("sound") is True,
            notifications=chosen.get("notifications", True) is not False,
            after=after,
        )

    def preference(self) -> dict[str, Any]:
        return {PREFERENCE: asdict(self)}
