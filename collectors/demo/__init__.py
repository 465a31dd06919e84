"""The demo source: a bundled convention's worth of posts, released a few at a time, in a loop.

It lets `make run` show a living wall with no network at all. The cursor is the number of
posts released so far, so a restart resumes where the demo was instead of starting over.
`previous_day_posts` gives the same posts dated over an earlier day, for the core to seed a
day the digest can publish at once (aggregator/demo_day.py).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from collectors.base import (
    Author,
    Candidate,
    CollectorContext,
    CollectResult,
    Media,
    SourceOptions,
    SourceState,
)

# Demo media are package files; the wall serves them from its own origin under this scheme.
DEMO_MEDIA_SCHEME = "demo:"


class Options(SourceOptions):
    """The bundled demo posts, released a few at a time in a loop: a living wall offline."""

    type: Literal["demo"] = "demo"
    every: int = Field(
        default=8, ge=1, le=86400, strict=True, description="Seconds between two releases."
    )
    per_run: int = Field(
        default=3, ge=1, le=1000, strict=True, description="Posts released per run."
    )
    previous_day: int = Field(
        default=0,
        ge=0,
        le=1000,
        strict=True,
        description="Posts dated over the previous day, stored at start with that day's "
        "digest published, so the digest has a day to show at once (0: none).",
    )


@cache
def bundled_posts() -> tuple[dict[str, Any], ...]:
    """The bundled posts, in release order."""
    raw = resources.files(__package__).joinpath("posts.json").read_text(encoding="utf-8")
    return tuple(json.loads(raw))


def media_path(name: str) -> Any:
    """The package file behind a `demo:` media URL (name without the scheme)."""
    return resources.files(__package__).joinpath("media", name)


def _candidate(number: int, item: dict[str, Any], now: datetime, prefix: str = "demo") -> Candidate:
    author = item["author"]
    media = [
        Media(url=f"{DEMO_MEDIA_SCHEME}{m['file']}", alt=m.get("alt", ""), type="image")
        for m in item.get("media", [])
    ]
    handle = author["handle"]
    return Candidate(
        external_id=f"{prefix}-{number}",
        url=item.get("url"),
        author=Author(handle=handle, name=author.get("name", handle)),
        created_at=now,
        text=item.get("text", ""),
        html=item.get("html"),
        language=item.get("language"),
        media=media,
        likes=item.get("likes", 0),
        shares=item.get("shares", 0),
        replies=item.get("replies", 0),
        content_warning=item.get("content_warning"),
        sensitive=bool(item.get("sensitive", False)),
        network=item.get("network", "mastodon"),
        hashtags=list(item.get("hashtags", [])),
    )


# The previous day's posts are spread over its daytime, like a convention's.
DAY_OPENS, DAY_HOURS = time(8, 0), 10


def previous_day_posts(options: Options, day: date, zone: ZoneInfo) -> list[Candidate]:
    """`options.previous_day` bundled posts (the last ones, so the wall's first are new),
    dated between 08:00 and 18:00 of `day` in `zone`, with ids of their own for that day."""
    posts = bundled_posts()
    count = options.previous_day
    opens = datetime.combine(day, DAY_OPENS, tzinfo=zone).astimezone(UTC)
    step = timedelta(hours=DAY_HOURS) / max(count, 1)
    first = len(posts) - count
    return [
        _candidate(n, posts[(first + n) % len(posts)], opens + n * step, f"demo-{day.isoformat()}")
        for n in range(count)
    ]


class DemoCollector:
    def __init__(self, options: Options) -> None:
        self.options = options

    async def collect(self, state: SourceState) -> CollectResult:
        posts = bundled_posts()
        released = int(state.cursor or 0)
        now = datetime.now(UTC)
        batch = [
            _candidate(n, posts[n % len(posts)], now)
            for n in range(released, released + self.options.per_run)
        ]
        new_state = SourceState(cursor=str(released + len(batch)))
        return CollectResult(posts=batch, state=new_state)


def create(options: Options, context: CollectorContext) -> DemoCollector:
    return DemoCollector(options)
