"""The queue with the keyboard alone, in a real Chromium, as a screen-reader user meets it:
real focus that j/k move (roving tabindex, aria-current), every action reachable by Tab,
decisions announced politely, and one-letter shortcuts a person can turn off (WCAG 2.1.4)."""

from __future__ import annotations

from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.models import Post
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login, held

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

FOCUSED = "() => document.activeElement && document.activeElement.id"


def status(livewall: Livewall, post_id: int) -> str:
    with livewall.store.read() as session:
        post = session.get(Post, post_id)
        assert post is not None
        return post.status


async def focused(page: Any) -> str:
    return str(await page.evaluate(FOCUSED))


async def focus_reaches(page: Any, element_id: str) -> None:
    """Wait until the keyboard's focus is on the element (a function: the CSP forbids eval)."""
    await page.wait_for_function("id => document.activeElement?.id === id", arg=element_id)


async def open_queue(
    browser: Any,  # noqa: F811
    live_server: LiveServer,
    livewall: Livewall,
    posts: int,
) -> tuple[Any, list[int]]:
    """`posts` held posts and a moderator's queue open on them, the newest one focused."""
    ids = held(livewall, posts)
    add_staff(livewall, "marie")
    page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await browser_login(page, live_server.url, "marie")
    await focus_reaches(page, f"item-{ids[-1]}")
    return page, ids


async def test_j_and_k_move_the_real_focus_and_mark_the_post(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    page, (oldest, middle, newest) = await open_queue(browser, live_server, livewall, 3)
    assert await page.get_by_role("heading", level=1, name="File d'attente").count() == 1
    for key, expected in (("j", middle), ("j", oldest), ("j", oldest), ("k", middle)):
        await page.keyboard.press(key)
        await focus_reaches(page, f"item-{expected}")
        marked = await page.eval_on_selector_all(
            "#items .item", "cards => cards.map(c => [c.id, c.tabIndex, c.ariaCurrent])"
        )
        assert marked == [
            [f"item-{i}", 0 if i == expected else -1, "true" if i == expected else None]
            for i in (newest, middle, oldest)
        ]
    await page.screenshot(path=artifact("console-queue-focus.png"))


@pytest.fixture
async def two_posts(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> tuple[Any, list[int]]:
    return await open_queue(browser, live_server, livewall, 2)


async def test_tab_reaches_the_box_and_the_buttons_and_the_decision_is_announced(
    two_posts: tuple[Any, list[int]], livewall: Livewall
) -> None:
    page, (older, newer) = two_posts
    # Shift+Tab leaves the card; Tab comes back to it, then to its bulk box.
    await page.keyboard.press("Shift+Tab")
    assert await focused(page) != f"item-{newer}"
    await page.keyboard.press("Tab")
    assert await focused(page) == f"item-{newer}"
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.matches('.pick')")
    await page.keyboard.press("Space")
    assert await page.get_attribute(f"#item-{newer}", "class") == (
        "item status-pending current picked"
    )
    # On to the card's Approve button, by Tab alone.
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.dataset.action === 'approve'"):
            break
    await page.screenshot(path=artifact("console-queue-tab.png"))
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"#item-{newer}", state="detached")
    assert (status(livewall, newer), status(livewall, older)) == ("approved", "pending")
    said = page.locator("#announce[aria-live=polite]")
    await page.wait_for_function("() => document.getElementById('announce').textContent !== ''")
    text = await said.text_content()
    assert text is not None and text.startswith("Approuvé : ") and "Message p1 depuis" in text
    # The focus went on to the post that is left, not to the page's top.
    assert await focused(page) == f"item-{older}"


async def test_one_letter_shortcuts_can_be_turned_off_and_on_again(
    two_posts: tuple[Any, list[int]], livewall: Livewall
) -> None:
    page, (older, newer) = two_posts
    await page.get_by_role("button", name="Désactiver les raccourcis d'une lettre").click()
    await page.wait_for_selector("#queue[data-shortcuts=off]")
    user = livewall.accounts.users()[0]
    assert user.id is not None and livewall.accounts.preferences(user.id) == {"shortcuts": False}
    await page.screenshot(path=artifact("console-queue-shortcuts-off.png"))

    await page.locator(f"#item-{newer}").focus()
    await page.keyboard.press("j")
    await page.keyboard.press("a")  # nothing, as a speech-input user's stray word
    assert await focused(page) == f"item-{newer}"
    # Requests go one after the other: had "a" sent one, it would be decided before this one.
    await page.locator(f"#item-{older} button[data-action=reject]").click()
    await page.wait_for_selector(f"#item-{older}", state="detached")
    assert (status(livewall, older), status(livewall, newer)) == ("rejected", "pending")

    await page.get_by_role("button", name="Activer les raccourcis d'une lettre").click()
    await page.wait_for_selector("#queue[data-shortcuts=on]")
    await focus_reaches(page, f"item-{newer}")
    await page.keyboard.press("a")
    await page.wait_for_selector(f"#item-{newer}", state="detached")
    assert status(livewall, newer) == "approved"
    assert livewall.accounts.preferences(user.id) == {"shortcuts": True}
