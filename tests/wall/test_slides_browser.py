"""Sponsor and announcement slides on the screens, in a real Chromium against a real server:
a slide in its schedule comes between posts and goes away, one out of it never shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.models import utcnow
from aggregator.settings import Settings
from aggregator.slides import SlidePlan
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.test_wall_browser import FULL_HD, open_screen, same_origin
from tests.wall.wall_data import seed_demo

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

TOKEN = "t0k"
SCREENS = [
    {"name": "hall", "layout": "grid", "rotate_seconds": 3},
    {"name": "scene", "layout": "spotlight", "rotate_seconds": 3},
    {"name": "bandeau", "layout": "ticker"},
]
# How often each layout brings a slide back here: grid and spotlight count post turns
# (rotate_seconds = 3), the ticker every 10 s (the shortest interval in seconds).
EVERY = {
    "grid": {"every_posts": 1},
    "spotlight": {"every_posts": 1},
    "ticker": {"every_seconds": 10},
}
# Records every text the slide stage shows, from the page's first moment.
WATCH = """() => {
  window.slidesSeen = [];
  const stage = document.querySelector('.slide');
  new MutationObserver(() => {
    if (!stage.hidden) window.slidesSeen.push(stage.querySelector('.slide-text').textContent);
  }).observe(stage, {attributes: true, attributeFilter: ['hidden']});
}"""


@pytest.fixture
def slides_app(make_settings: Callable[..., Settings], store: Any) -> Livewall:
    settings = make_settings(screens=SCREENS)
    return Livewall(settings, store=store, env={"LIVEWALL_API_TOKEN": TOKEN})


@pytest.fixture
def server(slides_app: Livewall) -> Iterator[LiveServer]:
    running = LiveServer(slides_app).start()
    yield running
    running.stop()


def schedule(app: Livewall, text: str, starts_in: timedelta, **fields: Any) -> int:
    start = utcnow() + starts_in
    plan = SlidePlan(start, start + timedelta(hours=1), text=text, show_seconds=3, **fields)
    slide = app.slides.add(plan, actor="marie")
    assert slide.id is not None
    return slide.id


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s["layout"])
async def test_a_slide_in_its_schedule_comes_between_posts_and_goes(
    browser: Any,  # noqa: F811
    server: LiveServer,
    slides_app: Livewall,
    screen: dict[str, Any],
) -> None:
    seed_demo(slides_app, 8)
    every = EVERY[screen["layout"]]
    schedule(
        slides_app, "Merci à Hydro-Québec, partenaire des Assises", -timedelta(minutes=1), **every
    )
    schedule(slides_app, "Pas encore : demain matin", timedelta(hours=1), **every)
    requests: list[str] = []
    page = await browser.new_page(viewport=FULL_HD)
    page.on("request", lambda request: requests.append(request.url))
    await page.add_init_script(f"document.addEventListener('DOMContentLoaded', {WATCH})")
    await page.goto(f"{server.url}/wall/{screen['name']}")
    await page.wait_for_selector(".slide:not([hidden])", timeout=15000)
    await page.screenshot(path=artifact(f"slide-{screen['layout']}.png"))
    shown = await page.evaluate(
        """() => ({text: document.querySelector('.slide-text').textContent,
                  label: document.querySelector('.slide-label').textContent,
                  posts: getComputedStyle(document.querySelector('.posts')).visibility})"""
    )
    assert shown["text"].startswith("Merci à Hydro-Québec") and shown["label"]
    # In place of the posts for a few seconds (the ticker's band goes on moving).
    assert shown["posts"] == ("visible" if screen["layout"] == "ticker" else "hidden")
    await page.wait_for_selector(".slide", state="hidden", timeout=6000)
    assert (
        await page.evaluate("getComputedStyle(document.querySelector('.posts')).visibility")
        == "visible"
    )
    await page.wait_for_timeout(1500)
    seen = await page.evaluate("window.slidesSeen")
    assert seen and all(text.startswith("Merci") for text in seen), seen
    assert same_origin(requests, server.url) == []
    await page.close()


async def test_a_slide_added_from_the_api_reaches_an_open_screen_and_is_taken_down(
    browser: Any,  # noqa: F811
    server: LiveServer,
    slides_app: Livewall,
) -> None:
    seed_demo(slides_app, 6)
    page = await open_screen(browser, f"{server.url}/wall/hall", [])
    await page.wait_for_timeout(500)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as api:
        ends = (utcnow() + timedelta(hours=1)).isoformat()
        made = await api.post(
            "/api/screens/slides",
            json={"text": "Pause café au niveau 4", "kind": "announcement", "ends_at": ends,
                  "every_posts": 1, "show_seconds": 30, "screens": ["hall"]},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        await page.wait_for_selector(".slide:not([hidden])", timeout=10000)
        assert await page.text_content(".slide-text") == "Pause café au niveau 4"
        gone = await api.delete(f"/api/screens/slides/{made.json()['id']}")
        assert gone.status_code == 200 and gone.json()["active"] is False
    # Taken down while on screen: gone at once, not at the end of its 30 seconds.
    await page.wait_for_selector(".slide", state="hidden", timeout=5000)
    assert page.errors == []
    await page.close()
