"""The event's look in a real Chromium: each layout, in both themes, wears the colours, font and
logo of its settings, all from the wall's own origin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.settings import Settings
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.test_branding import ASSISES
from tests.wall.test_wall_browser import open_screen, same_origin
from tests.wall.wall_data import seed_demo

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

SCREENS = [
    {"name": "grid", "layout": "grid", "title": "Hall principal"},
    {"name": "spotlight", "layout": "spotlight", "title": "Salle plénière"},
    {"name": "ticker", "layout": "ticker", "title": "Bandeau"},
    # A light screen of its own: its background and accent over [branding]'s, its own font.
    {"name": "accueil", "layout": "grid", "theme": "light", "background": "#f3f6fa",
     "accent": "#00539b", "font": "source-serif-4"},
]  # fmt: skip
LOOK = """() => {
  const body = getComputedStyle(document.body);
  const logo = document.querySelector('.brand-logo');
  return {bg: body.getPropertyValue('--bg').trim(), accent: body.getPropertyValue('--accent').trim(),
          paint: body.backgroundImage, font: body.fontFamily,
          hashtag: getComputedStyle(document.querySelector('.hashtag')).color,
          logo: logo ? logo.naturalWidth : 0};
}"""


@pytest.fixture
def branded_app(make_settings: Callable[..., Settings], store: Any) -> Livewall:
    return Livewall(make_settings(branding=ASSISES, screens=SCREENS), store=store, env={})


@pytest.fixture
def server(branded_app: Livewall) -> Iterator[LiveServer]:
    running = LiveServer(branded_app).start()
    yield running
    running.stop()


def rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


async def test_each_layout_wears_the_events_look(
    browser: Any,  # noqa: F811
    server: LiveServer,
    branded_app: Livewall,
) -> None:
    seed_demo(branded_app, 10)
    requests: list[str] = []
    for screen in SCREENS:
        page = await open_screen(browser, f"{server.url}/wall/{screen['name']}", requests)
        await page.evaluate("document.fonts.ready")
        await page.wait_for_timeout(800)
        look = await page.evaluate(LOOK)
        background, accent = screen.get("background", "#0b2545"), screen.get("accent", "#4fc3f7")
        assert (look["bg"], look["accent"]) == (background, accent), screen["name"]
        assert rgb(background) in look["paint"] and look["hashtag"] == rgb(accent)
        family = "Source Serif 4" if screen["name"] == "accueil" else "Open Sans"
        assert look["font"].startswith(f'"{family}"')
        assert await page.evaluate(f"document.fonts.check('700 28px \"{family}\"')")
        assert look["logo"] > 0, "the logo is drawn"
        await page.screenshot(path=artifact(f"wall-branded-{screen['name']}.png"))
        assert page.errors == []
        await page.close()
    assert same_origin(requests, server.url) == []
