"""A held edit in the console: both versions side by side, approved by key, refused when the
post changed again since the moderator read it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.moderation.decisions import decide
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.builders import candidate, result, source
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, browser_login, held, login

pytestmark = pytest.mark.anyio
EDITED = "Message corrigé par son auteur, avec un lien ajouté"


def approved_then_edited(livewall: Livewall, text: str = EDITED) -> int:
    [post_id] = held(livewall, 1)
    decide(livewall.store, post_id, "approve", "ada")
    livewall.pipeline.ingest(source(), result(candidate("p0", text)))
    return post_id


async def test_the_queue_shows_the_approved_and_the_new_version(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    add_staff(livewall, "marie")
    post_id = approved_then_edited(livewall)
    await login(web, "marie")
    page = (await web.get("/console")).text
    card = page[page.index(f'id="item-{post_id}"') :]
    assert "Affiché sur les écrans" in card and "Nouvelle version" in card
    assert card.index("Message p0 depuis la salle") < card.index(EDITED)
    assert "Approuver la modification" in card


async def test_a_decision_on_a_version_edited_since_is_refused(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    add_staff(livewall, "marie")
    post_id = approved_then_edited(livewall)
    csrf = await login(web, "marie")
    page = (await web.get("/console")).text
    found = re.search(rf'id="item-{post_id}"[^>]*data-version="(\w+)"', page)
    assert found is not None
    livewall.pipeline.ingest(source(), result(candidate("p0", "Encore une autre version")))
    body = {"action": "approve", "posts": [{"id": post_id, "status": "approved",
                                            "version": found.group(1)}]}  # fmt: skip
    answer = await web.post("/console/api/decide", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 409
    assert "Modifié à la source" in answer.json()["results"][0]["error"]


@pytest.mark.browser
async def test_a_moderator_approves_an_edit_by_key_and_the_wall_follows(
    live_server: LiveServer,
    livewall: Livewall,
    browser: Any,  # noqa: F811  (last: closed before the server stops)
) -> None:
    add_staff(livewall, "marie")
    post_id = approved_then_edited(livewall)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    console, wall = await context.new_page(), await context.new_page()
    await wall.goto(f"{live_server.url}/wall/hall")
    assert EDITED not in await wall.inner_text(f"#post-{post_id}")
    await browser_login(console, live_server.url, "marie")
    await console.wait_for_selector(f"#item-{post_id}.current .versions")
    await console.screenshot(path=artifact("console-edit.png"), full_page=True)
    await console.keyboard.press("a")
    # A selector, not a script: the wall's policy forbids evaluating strings.
    await wall.wait_for_selector(f"#post-{post_id}:has-text('lien ajouté')", timeout=2000)
    await context.close()
