"""The console's preview: a post's card as the screens draw it, whatever its status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aggregator.application import Livewall
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login, held, login

pytestmark = pytest.mark.anyio


async def test_a_held_post_is_previewed_with_the_screens_card(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    add_staff(livewall, "marie")
    plain, warned = held(livewall, 1, "a") + held(livewall, 1, "b", content_warning="Divulgâcheur")
    await login(web, "marie")
    page = await web.get(f"/console/posts/{plain}/preview")
    assert page.status_code == 200 and f'id="post-{plain}"' in page.text
    assert 'class="post-body"' in page.text and "wall.css" in page.text
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    # What the screens hide, the preview hides: only the warning shows, not the text.
    hidden = await web.get(f"/console/posts/{warned}/preview")
    assert "Divulgâcheur" in hidden.text and 'class="post-body"' not in hidden.text
    assert (await web.get("/console/posts/999999/preview")).status_code == 404


@pytest.mark.browser
async def test_v_opens_the_preview_of_the_current_post(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    add_staff(livewall, "marie")
    (post,) = held(livewall, 1)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await browser_login(page, live_server.url, "marie")
    await page.wait_for_selector(f"#item-{post}.current")
    await page.keyboard.press("v")
    frame = page.frame_locator(f"#item-{post} details.preview iframe")
    await frame.locator(f"#post-{post} .post-body").wait_for(timeout=5000)
    await page.screenshot(path=artifact("console-preview.png"))
    await page.keyboard.press("v")
    assert not await page.locator(f"#item-{post} details.preview").evaluate("d => d.open")
