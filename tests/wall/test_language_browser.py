"""The language switch in a real Chromium: chosen once, kept while a person clicks around."""

from __future__ import annotations

from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.digest.runs import DigestRuns
from tests.aggregator.digest.day import DAY, seed_day
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def language(page: Any) -> str:
    return str(await page.get_attribute("html", "lang"))


async def test_a_visitor_s_choice_holds_from_page_to_page(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    seed_day(livewall.store)
    assert DigestRuns(livewall.settings, livewall.store, {}).run(DAY).outcome == "published"
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await page.goto(f"{live_server.url}/wall/")
    assert await language(page) == "fr-CA"
    await page.get_by_role("link", name="English").click()
    await page.wait_for_url("**/wall/?lang=en")
    await page.screenshot(path=artifact("language-wall-index-en.png"), full_page=True)
    await page.get_by_role("link", name="hall").click()
    assert await language(page) == "en-CA"
    await page.goto(f"{live_server.url}/digest/")
    assert await language(page) == "en-CA"
    await page.locator(".dg-days a").first.click()
    await page.wait_for_url(f"**/digest/{DAY.isoformat()}*")
    assert await language(page) == "en-CA" and "Highlights" in await page.inner_text("main")
    await page.get_by_role("link", name="Français").click()
    await page.goto(f"{live_server.url}/console/login")
    assert await language(page) == "fr-CA"
    await page.screenshot(path=artifact("language-login-fr.png"))


async def test_a_moderator_switches_the_console_once(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    add_staff(livewall, "marie")
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await browser_login(page, live_server.url, "marie")
    assert await language(page) == "fr-CA"
    await page.get_by_role("button", name="English").click()
    await page.wait_for_url(f"{live_server.url}/console")
    assert await language(page) == "en-CA"
    await page.get_by_role("heading", name="Queue").wait_for()
    await page.screenshot(path=artifact("language-console-en.png"))
    await page.get_by_role("link", name="Statistics").click()
    await page.wait_for_url("**/console/stats")
    assert await language(page) == "en-CA"
    await page.get_by_role("button", name="Français").click()
    await page.wait_for_url("**/console/stats")
    assert await language(page) == "fr-CA"
