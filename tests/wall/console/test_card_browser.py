"""A name of 100,000 characters without a space, in a real Chromium: the console's card and
the screens' card stay within the window (before, the console's card was a million pixels
wide)."""

from __future__ import annotations

from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.moderation.decisions import decide
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login, held

pytestmark = [pytest.mark.anyio, pytest.mark.browser]
WIDTH = 1280

# The widest right edge of any of `selector`, and the page's own scroll width.
EXTENT = """selector => ({
  right: Math.max(...[...document.querySelectorAll(selector)].map(e => e.getBoundingClientRect().right)),
  scroll: document.documentElement.scrollWidth,
  count: document.querySelectorAll(selector).length,
})"""


def seed(livewall: Livewall) -> list[int]:
    """Ordinary posts and two held whose rows hold what the edge now refuses (stored before
    it did, or written by another tool): unbroken name, handle, title, text and warning."""
    for post_id in held(livewall, 3, prefix="ok"):
        decide(livewall.store, post_id, "approve", "ada")
    wide = held(livewall, 2, prefix="wide")
    for post_id in wide:
        with livewall.store.write() as session:
            post = session.get(Post, post_id)
            assert post is not None
            post.author_name = "N" * 100_000
            post.author_handle = "@" + "h" * 290
            post.title = "T" * 3_000
            post.text = post.html = "W" * 5_000
            post.content_warning = "C" * 2_000 if post_id == wide[1] else None
            session.add(post)
    return wide


async def within_window(page: Any, selector: str) -> None:
    extent = await page.evaluate(EXTENT, selector)
    assert extent["count"] > 0, selector
    assert extent["right"] <= WIDTH and extent["scroll"] <= WIDTH, (selector, extent)


async def test_a_huge_unbroken_name_stays_within_the_window(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    wide = seed(livewall)
    add_staff(livewall, "ada", "admin")
    context = await browser.new_context(viewport={"width": WIDTH, "height": 860})
    page = await context.new_page()
    await browser_login(page, live_server.url, "ada")
    for status in ("approved", "pending"):
        await page.goto(f"{live_server.url}/console?status={status}")
        await within_window(page, ".item")
    await page.screenshot(path=artifact("console-wide-name.png"))
    for post_id in wide:
        decide(livewall.store, post_id, "approve", "ada")
    await page.goto(f"{live_server.url}/wall/hall")
    await page.locator(".post").first.wait_for()
    await within_window(page, ".post")
    await page.screenshot(path=artifact("wall-wide-name.png"))
