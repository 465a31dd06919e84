"""The wall's clock tells the event's time, not the TV's: a TV left in UTC still shows the
evening in Québec."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aggregator.application import Livewall
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

# 23:10 UTC on the Wednesday of the Assises: 18:10 in Québec (EST, UTC-5).
MOMENT = datetime(2026, 11, 25, 23, 10, tzinfo=UTC)


@pytest.mark.parametrize(("language", "shown"), [("fr", "18 h 10"), ("en", "6:10 p.m.")])
async def test_the_clock_shows_quebec_time_on_a_tv_left_in_utc(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
    language: str,
    shown: str,
) -> None:
    assert livewall.settings.event.timezone == "America/Toronto"  # Québec's zone
    context = await browser.new_context(timezone_id="UTC", viewport={"width": 1920, "height": 1080})
    await context.clock.set_fixed_time(MOMENT)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/wall/hall?lang={language}")
    assert await page.evaluate("() => new Date().getHours()") == 23  # the TV's own zone
    clock = page.locator(".clock")
    await page.wait_for_function(
        "shown => document.querySelector('.clock').textContent.trim() === shown",
        arg=shown,
        timeout=5000,
    )
    assert (await clock.text_content() or "").strip() == shown
    await page.screenshot(path=artifact(f"wall-clock-event-zone-{language}.png"))
    await context.close()
