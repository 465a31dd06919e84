"""Moderators never miss a post, in a real Chromium: the waiting count in every console page's
title and favicon, live; a chime when a post arrives; a browser notification once a post has
waited the moderator's delay, and none when they turned it off; their choices kept with their
account. Notifications and sounds are observed by recording the calls (an init script wraps
`Notification` and `AudioContext.createOscillator`), never by replacing what the page does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from aggregator import accounts
from aggregator.application import Livewall
from aggregator.models import Post, utcnow
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login, held

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

RECORD = """
window.__notes = [];
window.__tones = 0;
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) { super(title, options); window.__notes.push({ title, body: options && options.body }); }
  };
}
if (window.AudioContext) {
  const create = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () { window.__tones += 1; return create.call(this); };
}
"""


async def staff_page(chromium: Any, server: LiveServer, name: str = "marie") -> Any:
    context = await chromium.new_context(viewport={"width": 1280, "height": 820})
    await context.grant_permissions(["notifications"], origin=server.url)
    await context.add_init_script(RECORD)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    await browser_login(page, server.url, name)
    return page


def choose(livewall: Livewall, name: str, **notify: object) -> None:
    """What `name` chose on the notifications page, as the account keeps it."""
    user = accounts.find_user(livewall.store, name)
    assert user is not None and user.id is not None
    livewall.accounts.set_preferences(user.id, {"notify": notify})


def arrived(livewall: Livewall, seconds_ago: float, external_id: str = "late") -> int:
    """A post held for moderation that arrived `seconds_ago`, announced to the consoles."""
    moment = utcnow() - timedelta(seconds=seconds_ago)
    post = Post(
        source="demo", external_id=external_id, network="mastodon", author_handle="@lucie@m.example",
        text="Une question pour la plénière", created_at=moment, collected_at=moment,
    )  # fmt: skip
    with livewall.store.write() as session:
        session.add(post)
        session.flush()
        livewall.store.add_change(session, "queue", post_id=post.id)
    assert post.id is not None
    return post.id


async def favicon(page: Any) -> str:
    return str(await page.get_attribute('link[rel="icon"]', "href"))


async def test_every_page_shows_the_waiting_count_in_its_title_and_favicon(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    add_staff(livewall, "marie")
    held(livewall, 2, prefix="a")
    page = await staff_page(browser, live_server)
    await page.wait_for_function("() => document.title.startsWith('(2) ')")
    assert await page.title() == "(2) File d'attente — Assises de test"
    two = await favicon(page)
    assert two.startswith("data:image/png;base64,")

    held(livewall, 1, prefix="b")  # arrives while the queue is open
    await page.wait_for_function("() => document.title.startsWith('(3) ')")
    assert await favicon(page) not in (two, "data:,")

    await page.goto(f"{live_server.url}/console/stats")
    await page.wait_for_function("() => document.title === '(3) Statistiques — Assises de test'")
    held(livewall, 1, prefix="c")
    await page.wait_for_function("() => document.title.startsWith('(4) ')")
    await page.screenshot(path=artifact("console-stats-waiting.png"))

    # Decided elsewhere: the count goes down, and with nothing left the plain icon is back.
    with livewall.store.write() as session:
        session.execute(sa.update(Post).values(status="approved"))
        livewall.store.add_change(session, "queue", post_id=1)
    await page.wait_for_function("() => document.title === 'Statistiques — Assises de test'")
    assert await favicon(page) == "data:,"
    assert page.errors == []
    await page.context.close()


async def test_a_post_waiting_past_the_delay_raises_one_browser_notification(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    add_staff(livewall, "marie")
    choose(livewall, "marie", after=10)
    page = await staff_page(browser, live_server)
    await page.goto(f"{live_server.url}/console/audit")
    await page.wait_for_function("() => document.documentElement.dataset.notifyReady === 'true'")

    post_id = arrived(livewall, 6)
    await page.wait_for_function(
        f"() => document.documentElement.dataset.notify === 'waiting:{post_id}'"
    )
    assert await page.evaluate("window.__notes") == []  # not due yet: 6 s of 10

    await page.wait_for_function("() => window.__notes.length === 1", timeout=15_000)
    [note] = await page.evaluate("window.__notes")
    assert note["title"] == "Des publications attendent une décision"
    assert note["body"].startswith("1 publication(s) en attente")
    assert await page.evaluate("document.documentElement.dataset.notify") == f"sent:{post_id}"
    # Once per post: a second post arriving does not repeat it for the first.
    held(livewall, 1, prefix="later")
    await page.wait_for_function("() => document.title.startsWith('(2) ')")
    assert len(await page.evaluate("window.__notes")) == 1
    assert page.errors == []
    await page.context.close()


async def test_no_notification_for_a_moderator_who_turned_them_off(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    add_staff(livewall, "marie")
    choose(livewall, "marie", notifications=False, after=10)
    post_id = arrived(livewall, 600)  # long overdue
    page = await staff_page(browser, live_server)
    # The page reached the moment it would have notified, and chose not to.
    await page.wait_for_function(
        f"() => document.documentElement.dataset.notify === 'off:{post_id}'"
    )
    assert await page.evaluate("window.__notes") == []
    assert await page.title() == "(1) File d'attente — Assises de test"
    await page.context.close()


async def test_a_chime_when_a_post_arrives_only_for_those_who_want_it(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    add_staff(livewall, "marie")
    add_staff(livewall, "paul")
    choose(livewall, "marie", sound=True)
    with_sound = await staff_page(browser, live_server, "marie")
    silent = await staff_page(browser, live_server, "paul")
    for page in (with_sound, silent):
        await page.wait_for_function("() => document.documentElement.dataset.waiting === '0'")
        await page.wait_for_function(
            "() => document.documentElement.dataset.notifyReady === 'true'"
        )
    held(livewall, 1)
    for page in (with_sound, silent):
        await page.wait_for_function("() => document.documentElement.dataset.waiting === '1'")
    assert await with_sound.evaluate("window.__tones") > 0
    assert await silent.evaluate("window.__tones") == 0
    for page in (with_sound, silent):
        await page.context.close()


async def test_the_preferences_form_keeps_each_moderators_choices_across_logins(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    add_staff(livewall, "marie")
    held(livewall, 3)
    page = await staff_page(browser, live_server)
    await page.click("text=Notifications")
    await page.wait_for_url(f"{live_server.url}/console/notifications")
    await page.wait_for_function("() => document.title.startsWith('(3) Notifications')")
    assert await page.is_checked('input[name="notifications"]')
    assert not await page.is_checked('input[name="sound"]')
    assert await page.input_value('input[name="after"]') == "2"  # the event's default, 120 s
    assert await page.text_content("#notify-permission") == (
        "Les notifications sont permises dans ce navigateur."
    )
    await page.screenshot(path=artifact("console-notifications.png"), full_page=True)

    await page.check('input[name="sound"]')
    await page.uncheck('input[name="notifications"]')
    await page.fill('input[name="after"]', "1.5")
    await page.click("button.primary")
    await page.wait_for_selector("p.notice")
    assert await page.text_content("p.notice") == "Enregistré."
    await page.context.close()

    again = await staff_page(browser, live_server)  # another browser, a new session
    await again.goto(f"{live_server.url}/console/notifications")
    assert await again.is_checked('input[name="sound"]')
    assert not await again.is_checked('input[name="notifications"]')
    assert await again.input_value('input[name="after"]') == "1.5"
    chosen = await again.evaluate(
        "fetch('/console/api/notify', {headers: {Accept: 'application/json'}}).then(r => r.json())"
    )
    assert (chosen["sound"], chosen["notifications"], chosen["after"]) == (True, False, 90)
    assert again.errors == []
    await again.context.close()
