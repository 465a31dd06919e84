"""Posts for screen tests and screenshots: the bundled demo posts, approved, a few minutes apart."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
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


def sponsor_logo(path: Path) -> Path:
    """A made-up sponsor's logo: a mark and a name on white (Pillow's own font has no accents)."""
    image = Image.new("RGB", (1200, 600), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 150, 390, 450), fill="#e4002b")
    draw.rectangle((190, 250, 290, 350), fill="#ffffff")
    draw.text((450, 230), "Energie\nBoreale", fill="#1a1a1a", font=ImageFont.load_default(110))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path
