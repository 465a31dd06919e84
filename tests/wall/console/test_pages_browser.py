"""Every console page in a real Chromium, on realistic data: it renders, in French, without a
Content-Security-Policy violation or a script error; screenshots land in test-artifacts/."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from aggregator.application import Livewall
from aggregator.models import Screen, utcnow
from aggregator.moderation import live_rules
from aggregator.moderation.decisions import decide
from collectors.base import Author
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login, held

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

PAGES = ("", "/rules", "/screens", "/sources", "/audit", "/stats", "/users", "/notifications")


def seed(livewall: Livewall) -> None:
    store = livewall.store
    live_rules.add_entry(store, "blocked_word", "niaiseux", "ada", "fr")
    live_rules.add_entry(store, "trusted", "@umq@mastodon.example", "ada")
    for post_id in held(livewall, 6, prefix="ok"):
        decide(store, post_id, "approve", "ada")
    held(livewall, 1, prefix="cw", content_warning="Politique municipale")
    livewall.pipeline.ingest(
        *_one("word", "Quel discours niaiseux ce matin aux #AssisesUMQ", "@troll@bsky.example")
    )
    for index in range(3):
        livewall.pipeline.ingest(
            *_one(
                f"flood{index}",
                "Gagnez un iPhone gratuit, cliquez vite sur ce lien",
                f"@bot{index}@x.example",
            )
        )
    held(
        livewall,
        2,
        prefix="new",
        author=Author(handle="@julie@mastodon.example", name="Julie Gagnon"),
    )
    with store.write() as session:
        session.add(
            Screen(name="hall", last_seen=utcnow(), version="c9f27739e3cd", viewport="1920x1080")
        )


def _one(external_id: str, text: str, handle: str) -> tuple[Any, Any]:
    from tests.builders import candidate, result, source

    author = Author(handle=handle, name=handle.split("@")[1].title())
    return source(), result(candidate(external_id, text, author=author))


async def test_every_page_renders_cleanly_in_french(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    seed(livewall)
    add_staff(livewall, "ada", "admin")
    page = await (await browser.new_context(viewport={"width": 1280, "height": 860})).new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(r.url) if r.status >= 400 else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await browser_login(page, live_server.url, "ada")
    messages = importlib.util.find_spec("aggregator.messages") is not None
    for path in PAGES + (("/messages",) if messages else ()):
        answer = await page.goto(f"{live_server.url}/console{path}")
        assert answer is not None and answer.status == 200, path
        name = path.strip("/") or "queue"
        await page.screenshot(path=artifact(f"console-{name}.png"), full_page=True)
    assert await page.locator("html[lang=fr-CA]").count() == 1
    await page.goto(f"{live_server.url}/console")
    assert "mot bloqué « niaiseux » (fr)" in await page.inner_text("#items")
    assert "inondation" in await page.inner_text("#items")
    assert "Politique municipale" in await page.inner_text("#items")
    assert problems == []


async def test_the_emergency_message_takes_over_an_open_wall(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811
) -> None:
    pytest.importorskip("aggregator.messages", reason="the wall part's staff messages")
    add_staff(livewall, "ada", "moderator")
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    wall, console = await context.new_page(), await context.new_page()
    await wall.goto(f"{live_server.url}/wall/hall")
    await browser_login(console, live_server.url, "ada")
    await console.goto(f"{live_server.url}/console/messages")
    form = console.locator("form:has(input[value=emergency])")
    # The confirmation box is required (by the browser, and by the server: see test_access).
    assert await form.locator("input[name=confirm][required]").count() == 1
    await form.locator("textarea").fill("Évacuez le hall par les sorties est.")
    await form.locator("input[name=confirm]").check()
    await form.locator("button[type=submit]").click()
    await wall.locator(".emergency:not([hidden])").wait_for(timeout=2000)
    assert "sorties est" in await wall.inner_text(".emergency")
    await wall.screenshot(path=artifact("console-emergency-wall.png"))
    await console.locator("button[value=all-clear]").click()
    await wall.locator(".emergency").wait_for(state="hidden", timeout=2000)
