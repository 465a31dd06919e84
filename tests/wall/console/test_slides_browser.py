"""A sponsor slide with its logo, scheduled from the console in Chromium: the console shows
its preview in the screen's look, and an open screen shows it between posts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.settings import Settings
from aggregator.store import Store
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login
from tests.wall.wall_data import seed_demo, sponsor_logo

pytestmark = [pytest.mark.anyio, pytest.mark.browser]
ASSISES = {"background": "#0b2545", "accent": "#4fc3f7", "font": "open-sans"}


@pytest.fixture
def slides_app(make_settings: Callable[..., Settings], store: Store, tmp_path: Path) -> Livewall:
    screens = [{"name": "hall", "layout": "grid", "title": "Grand hall", "rotate_seconds": 3}]
    settings = make_settings(screens=screens, branding=ASSISES)
    return Livewall(settings, store=store, env={"LIVEWALL_MEDIA_DIR": str(tmp_path / "media")})


@pytest.fixture
def server(slides_app: Livewall) -> Iterator[LiveServer]:
    running = LiveServer(slides_app).start()
    yield running
    running.stop()


async def test_a_slide_scheduled_from_the_console_is_previewed_and_shown(
    server: LiveServer,
    slides_app: Livewall,
    tmp_path: Path,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    seed_demo(slides_app, 10)
    add_staff(slides_app, "marie")
    laptop = await browser.new_page(viewport={"width": 1440, "height": 900})
    await browser_login(laptop, server.url, "marie")
    await laptop.goto(f"{server.url}/console/slides")
    await laptop.screenshot(path=artifact("console-slides-empty.png"), full_page=True)
    form = laptop.locator("form.slide-form")
    await form.locator("textarea[name=text]").fill("Énergie Boréale, partenaire des Assises")
    await form.locator("input[name=image]").set_input_files(sponsor_logo(tmp_path / "logo.png"))
    await form.locator("input[name=screens][value=hall]").check()
    await form.locator("input[name=every]").fill("1")
    await form.locator("input[name=show_seconds]").fill("4")
    await form.locator("button[type=submit]").click()
    await laptop.wait_for_url(f"{server.url}/console/slides?done=scheduled")
    assert "La diapositive est programmée." in await laptop.inner_text(".notice")
    frame = laptop.frame_locator(".slide-frame iframe")
    await frame.locator(".slide-text").wait_for(timeout=5000)
    await frame.locator(".slide-image").wait_for(timeout=5000)
    await laptop.wait_for_timeout(500)
    await laptop.screenshot(path=artifact("console-slides.png"), full_page=True)

    wall = await browser.new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    wall.on("pageerror", lambda error: errors.append(str(error)))
    await wall.goto(f"{server.url}/wall/hall")
    await wall.wait_for_selector(".slide.with-image:not([hidden])", timeout=10000)
    await wall.wait_for_function(
        "() => document.querySelector('.slide-image').naturalWidth > 0", timeout=3000
    )
    assert await wall.inner_text(".slide-label") == "MERCI À NOTRE PARTENAIRE"
    await wall.wait_for_timeout(900)  # the arrival animation ends
    await wall.screenshot(path=artifact("wall-slide-console.png"))
    await wall.wait_for_selector(".slide", state="hidden", timeout=6000)
    assert errors == []
