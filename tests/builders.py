"""Small builders for test data in livewall's own model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from collectors.base import Author, Candidate, CollectResult, SourceState
from collectors.demo import Options as DemoOptions

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
# The fields the foundation issue asks of every exported or API post, at the least.
REQUIRED_POST_FIELDS = (
    "id", "source", "external_id", "url", "author", "author_name", "text", "html",
    "language", "created_at", "status", "pinned", "featured", "deleted",
)  # fmt: skip


def candidate(
    external_id: str, text: str = "Belle journée aux #AssisesUMQ", **fields: Any
) -> Candidate:
    author = fields.pop("author", Author(handle="@lucie@mastodon.example", name="Lucie Tremblay"))
    return Candidate(
        external_id=external_id,
        url=fields.pop("url", f"https://mastodon.example/@lucie/{external_id}"),
        author=author,
        created_at=fields.pop("created_at", NOW),
        text=text,
        **fields,
    )


def result(
    *posts: Candidate, cursor: str | None = None, deleted: tuple[str, ...] = ()
) -> CollectResult:
    return CollectResult(posts=list(posts), deleted=list(deleted), state=SourceState(cursor=cursor))


def source(name: str = "demo", **fields: Any) -> DemoOptions:
    return DemoOptions(name=name, **fields)
