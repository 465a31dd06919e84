"""Posts for screen tests and screenshots: the bundled demo posts, approved, a few minutes apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.models import Post
from aggregator.moderation.decisions import decide
from aggregator.moderation.rules import Rules
from collectors.base import CollectResult, SourceState
from collectors.demo import _candidate, bundled_posts
from tests.builders import source
from tests.conftest import asgi_client  # noqa: F401  (used by the wall tests)


def seed_demo(livewall: Livewall, count: int = 14) -> list[int]:
    """Approve `count` demo posts (oldest first); pin the first, feature the third."""
    now = datetime.now(UTC)
    items = bundled_posts()
    posts = [
        _candidate(n, items[n % len(items)], now - timedelta(minutes=3 * (count - n)))
        for n in range(count)
    ]
    Pipeline(livewall.store, Rules(mode="pre")).ingest(
        source(), CollectResult(posts=posts, state=SourceState(cursor=str(count)))
    )
    with livewall.store.read() as session:
        ids = [p.id for p in session.exec(select(Post).order_by(col(Post.id))) if p.id]
    for post_id in ids:
        decide(livewall.store, post_id, "approve", "marie")
    if ids:
        decide(livewall.store, ids[0], "pin", "marie")
    if len(ids) > 2:
        decide(livewall.store, ids[2], "feature", "marie")
    return ids
