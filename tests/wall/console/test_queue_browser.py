"""The console in a real Chromium: the keyboard decides, the wall follows within a second."""

from __future__ import annotations

import time
from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.moderation.decisions import decide
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login, held

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def test_approve_then_retract_by_key_reaches_an_open_wall(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    add_staff(livewall, "marie")
    first, second, newest = held(livewall, 3)
    decide(livewall.store, first, "approve", "ada")  # the wall already shows something
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    console, wall = await context.new_page(), await context.new_page()
    await wall.goto(f"{live_server.url}/wall/hall")
    await browser_login(console, live_server.url, "marie")
    await console.wait_for_selector(f"#item-{newest}.current")
    await console.screenshot(path=artifact("console-queue.png"), full_page=True)

    started = time.monotonic()
    await console.keyboard.press("a")
    await wall.wait_for_selector(f"#post-{newest}", state="attached", timeout=5000)
    shown_after = time.monotonic() - started
    await console.wait_for_selector(f"#item-{newest}", state="detached")
    assert await console.get_attribute(f"#item-{second}", "class") == "item status-pending current"

    await console.goto(f"{live_server.url}/console?status=approved")
    await console.wait_for_selector(f"#item-{newest}.current")
    started = time.monotonic()
    await console.keyboard.press("h")
    await wall.wait_for_selector(f"#post-{newest}", state="detached", timeout=5000)
    hidden_after = time.monotonic() - started
    with livewall.store.read() as session:
        post = session.get(Post, newest)
    assert post is not None and (post.status, post.decided_by) == ("retracted", "marie")
    print(
        f"wall showed the approval after {shown_after:.3f} s, the retraction {hidden_after:.3f} s"
    )
    await context.close()


@pytest.mark.both_stores
async def test_two_moderators_see_each_other_and_cannot_decide_twice(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    add_staff(livewall, "marie")
    add_staff(livewall, "paul")
    older, newer = held(livewall, 2)
    marie = await (await browser.new_context()).new_page()
    paul_context = await browser.new_context()
    paul = await paul_context.new_page()
    await browser_login(marie, live_server.url, "marie")
    await browser_login(paul, live_server.url, "paul")
    await paul.wait_for_selector("#live:not([hidden])")

    # Marie approves the newest: it leaves Paul's queue without a reload.
    await marie.keyboard.press("a")
    await paul.wait_for_selector(f"#item-{newer}", state="detached", timeout=2000)

    # Paul's page stops hearing the news (a Wi-Fi drop); both decide the other post.
    await paul_context.route("**/console/events*", lambda route: route.abort())
    await paul.reload()
    await paul.wait_for_selector(f"#item-{older}.current")
    await marie.wait_for_selector(f"#item-{older}.current")
    await marie.keyboard.press("r")
    await marie.wait_for_selector(f"#item-{older}", state="detached")
    await paul.keyboard.press("a")
    toast = paul.locator("#toast.bad .toast-text")
    await toast.wait_for()
    assert "marie" in await toast.inner_text()
    await paul.screenshot(path=artifact("console-conflict.png"))
    with livewall.store.read() as session:
        post = session.get(Post, older)
    assert post is not None and (post.status, post.decided_by) == ("rejected", "marie")


async def test_a_new_moderator_clears_100_posts_with_the_keyboard_alone(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    add_staff(livewall, "nouvelle")
    ids = held(livewall, 100)
    page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    started = time.monotonic()
    await browser_login(page, live_server.url, "nouvelle")
    await page.wait_for_selector(f"#item-{ids[-1]}.current")
    # As the guide says: a approves, r rejects, x selects several, then one key for all of them.
    for index in range(85):
        await page.keyboard.press("r" if index % 10 == 9 else "a")
    for _ in range(5):
        await page.keyboard.press("x")
        await page.keyboard.press("j")
    await page.keyboard.press("r")
    for _ in range(10):
        await page.keyboard.press("a")
    await page.wait_for_selector("#empty:not([hidden])", timeout=20000)
    await page.wait_for_selector("#items .item", state="detached", timeout=20000)
    elapsed = time.monotonic() - started
    await page.screenshot(path=artifact("console-queue-cleared.png"))
    with livewall.store.read() as session:
        statuses = [session.get(Post, i).status for i in ids]  # type: ignore[union-attr]
    assert statuses.count("pending") == 0
    assert statuses.count("rejected") == 8 + 5 and statuses.count("approved") == 87
    print(f"100 posts cleared with the keyboard in {elapsed:.1f} s (login included)")
