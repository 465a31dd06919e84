"""An announcement with an image, sent from the console, on an open 1920x1080 wall: it appears
within a second, its image from the wall's own origin, and leaves when its time ends or when
staff take it down."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from aggregator.application import Livewall
from collectors.demo import media_path
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login
from tests.wall.wall_data import seed_demo

pytestmark = [pytest.mark.anyio, pytest.mark.browser]
SHOWN = ".announcement.with-image"


async def announce(console: Any, base: str, text: str, image: Path, minutes: int) -> float:
    """Fill and send the console's announcement form; the time it was sent."""
    await console.goto(f"{base}/console/messages")
    form = console.locator("form:has(input[value=announce])")
    await form.locator("textarea[name=text]").fill(text)
    await form.locator("input[name=screens][value=hall]").check()
    await form.locator("input[name=minutes]").fill(str(minutes))
    await form.locator("input[name=image]").set_input_files(image)
    started = time.monotonic()
    await form.locator("button[type=submit]").click()
    return started


async def test_an_announcement_with_its_image_comes_and_goes_on_an_open_wall(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    seed_demo(livewall, 14)
    add_staff(livewall, "marie")
    # Two devices, as in the venue: the screen's fake clock must not reach the moderator's laptop.
    screen = await browser.new_context(viewport={"width": 1920, "height": 1080})
    laptop = await browser.new_context(viewport={"width": 1440, "height": 900})
    wall, console = await screen.new_page(), await laptop.new_page()
    problems: list[str] = []
    wall.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    wall.on(
        "request", lambda r: None if r.url.startswith(live_server.url) else problems.append(r.url)
    )
    await wall.clock.install()  # the screen's own clock, moved on below to end the announcement
    await wall.goto(f"{live_server.url}/wall/hall")
    await browser_login(console, live_server.url, "marie")

    text = "Le dîner est servi au niveau 4 — salle Jacques-Cartier"
    started = await announce(console, live_server.url, text, media_path("coffee.jpg"), 1)
    await wall.wait_for_selector(SHOWN, timeout=5000)
    await wall.wait_for_function(
        "() => document.querySelector('.announcement-image').naturalWidth > 0", timeout=1000
    )
    shown_after = time.monotonic() - started
    assert await wall.inner_text(".announcement-text") == text
    source = await wall.get_attribute(".announcement-image", "src")
    assert source is not None and source.startswith("/media/staff/")
    box = await wall.locator(".announcement-image").bounding_box()
    assert box is not None and 300 <= box["height"] <= 400  # about a third of the screen
    await wall.wait_for_timeout(800)  # the arrival animation ends
    await wall.screenshot(path=artifact("wall-announcement-image.png"))

    # Its time ends (one minute, on the screen's clock): it leaves without any server event.
    await wall.clock.fast_forward(61_000)
    await wall.wait_for_selector(".announcement", state="detached", timeout=5000)

    started = await announce(console, live_server.url, "Pause café", media_path("crowd.jpg"), 30)
    await wall.wait_for_selector(SHOWN, timeout=5000)
    took_down = time.monotonic()
    await console.locator("button[value=clear]").first.click()
    await wall.wait_for_selector(".announcement", state="detached", timeout=5000)
    cleared_after = time.monotonic() - took_down
    assert problems == []
    print(f"shown with its image after {shown_after:.3f} s, cleared after {cleared_after:.3f} s")
    await screen.close()
    await laptop.close()
