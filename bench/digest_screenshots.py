"""The README's digest screenshots: the demo day's page (1280 and 375 px) and email (375 px).

    .venv/bin/python bench/digest_screenshots.py [folder] [--program] [--full]

The demo day: the 180 bundled posts ingested through the real pipeline (the blocked words
hold a few), their times spread over 8:00-18:00 of 2026-11-25, three featured. `--program`
groups the day by the test program's sessions instead of by hour; `--full` keeps the whole
page (for looking at it) instead of the README's part of it. Runs a real server on a temporary
SQLite file; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from aggregator.application import Livewall  # noqa: E402
from aggregator.digest.runs import DigestRuns  # noqa: E402
from aggregator.settings import settings_from_mapping  # noqa: E402
from aggregator.store import Store  # noqa: E402
from collectors.base import CollectResult, SourceState  # noqa: E402
from collectors.demo import _candidate, bundled_posts  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.conftest import LiveServer  # noqa: E402

DAY = date(2026, 11, 25)
ZONE = ZoneInfo("America/Toronto")
POSTS = 180
# Posts per hour from 8:00: arrival, the opening plenary, lunch, the afternoon workshops.
SHAPE = (3, 10, 35, 17, 8, 8, 24, 17, 12, 7, 6)
PROGRAM = REPO / "tests" / "aggregator" / "digest" / "program.ics"
# What the README shows of each: (the element at the top, or None for the page's top; height).
# The phone shows the page as it opens, the desktop the whole day's list.
README_CROPS = {
    ("page", 1280): ("#journee", 1700),
    ("page", 375): (None, 3400),
    ("email", 375): (None, 2400),
}


def moments(count: int) -> list[datetime]:
    """`count` moments of the day following SHAPE, oldest first."""
    edges = [0, *accumulate(SHAPE)]
    total = edges[-1]
    start = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=ZONE)
    result = []
    for n in range(count):
        position = (n + 0.5) * total / count
        hour = next(h for h in range(len(SHAPE)) if edges[h + 1] > position)
        within = (position - edges[hour]) / SHAPE[hour]
        result.append(start + timedelta(hours=hour + within))
    return result


def build(folder: Path, program: bool) -> Livewall:
    store = Store(f"sqlite:///{folder}/digest.db")
    store.migrate()
    event: dict[str, Any] = {
        "name": "Assises 2027 de l'UMQ",
        "hashtags": ["AssisesUMQ"],
        "timezone": "America/Toronto",
        "languages": ["fr", "en"],
    }
    if program:
        event["program"] = str(PROGRAM)
    raw = {
        "event": event,
        "storage": {"url": store.url},
        "server": {"public_url": "https://mur.example.org"},
        "moderation": {
            "mode": "post",
            "blocked_words": {"fr": "blocked-words/fr.txt", "en": "blocked-words/en.txt"},
        },
        "sources": [{"name": "demo", "type": "demo", "per_run": 60}],
    }
    app = Livewall(settings_from_mapping(raw, REPO / "config" / "x.toml"), store=store, env={})
    items = bundled_posts()
    posts = [
        # The bundled posts have no address; a real network's always do, and the page links it.
        replace(candidate, url=f"https://social.example/{candidate.author.handle}/{n}")
        for n, at in enumerate(moments(POSTS))
        if (candidate := _candidate(n, items[n % len(items)], at.astimezone(UTC)))
    ]
    result = CollectResult(posts=posts, state=SourceState(cursor=str(POSTS)))
    app.pipeline.ingest(app.settings.sources[0], result)
    feature_three(app)
    report = DigestRuns(app.settings, store, {}).run(DAY)
    print(f"digest {DAY}: {report.outcome}: {report.message}")
    return app


def feature_three(app: Livewall) -> None:
    from sqlmodel import col, select

    from aggregator.models import Post
    from aggregator.moderation.decisions import decide

    with app.store.read() as session:
        query = select(Post).where(Post.status == "approved").order_by(col(Post.created_at))
        with_images = [p.id for p in session.exec(query) if p.media and p.id is not None]
    for post_id in (with_images[0], with_images[1], with_images[4]):
        decide(app.store, post_id, "feature", "marie")


async def shoot(app: Livewall, base: str, out: Path, full: bool) -> None:
    from playwright.async_api import async_playwright

    runs = DigestRuns(app.settings, app.store, {})
    email = runs.edition(runs.content(DAY)).email_html.replace("https://mur.example.org", base)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        for kind, width in (("page", 1280), ("page", 375), ("email", 375)):
            page = await browser.new_page(viewport={"width": width, "height": 900})
            if kind == "page":
                await page.goto(f"{base}/digest/{DAY.isoformat()}")
            else:
                await page.set_content(email)
            await page.wait_for_load_state("networkidle")
            path = out / f"digest-{kind}-{width}.png"
            await page.screenshot(path=path, full_page=True)
            if not full:
                element, height = README_CROPS[(kind, width)]
                top = (
                    await page.evaluate(
                        f"document.querySelector('{element}').getBoundingClientRect().top + scrollY"
                    )
                    if element
                    else 0
                )
                crop(path, max(int(top) - 24, 0), height)
            print(path, Image.open(path).size, path.stat().st_size // 1024, "KB")
            await page.close()
        await browser.close()


def crop(path: Path, top: int, height: int) -> None:
    with Image.open(path) as image:
        part = image.convert("RGB").crop((0, top, image.width, min(top + height, image.height)))
    part.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = build(Path(tempfile.mkdtemp()), "--program" in sys.argv)
    server = LiveServer(app).start()
    try:
        asyncio.run(shoot(app, server.url, out, "--full" in sys.argv))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
