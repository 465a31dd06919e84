"""A newcomer's first minute: the started demo has a published digest day, a feed with it, and
staff can read today's digest so far before the evening publishes it."""

from __future__ import annotations

import re
from datetime import timedelta

import anyio
import feedparser
import httpx
import pytest

from aggregator.application import Livewall
from aggregator.store import Store
from collectors.demo import Options as DemoOptions
from collectors.demo import bundled_posts, previous_day_posts
from tests.conftest import SettingsFactory, asgi_client
from tests.wall.console.conftest import add_staff, login

pytestmark = pytest.mark.anyio
DEMO = {"name": "demo", "type": "demo", "every": 1, "per_run": 3, "previous_day": 20}


async def first_day_listed(web: httpx.AsyncClient) -> str:
    """The first day the archive links to, once the start-up work has published one."""
    with anyio.fail_after(60):
        while not (
            found := re.search(
                r'href="/digest/(\d{4}-\d\d-\d\d)"', (await web.get("/digest/")).text
            )
        ):
            await anyio.sleep(0.2)
    return found.group(1)


async def test_started_demo_publishes_yesterday_and_previews_today(
    store: Store, make_settings: SettingsFactory
) -> None:
    # No catch-up at start: after send_at (18:00 in the event's zone) it would publish today's
    # digest as the test starts, whatever the demo does (tests/aggregator/digest/test_startup.py).
    settings = make_settings(
        sources=[DEMO], moderation={"mode": "post"}, digest={"catch_up_hours": 0.0}
    )
    app = Livewall(settings, store, env={})
    yesterday = app.digest.today() - timedelta(days=1)
    async with asgi_client(app, run_scheduler=True) as web:
        assert await first_day_listed(web) == yesterday.isoformat()
        page = await web.get(f"/digest/{yesterday.isoformat()}")
        seeded = {
            p.author.name
            for p in previous_day_posts(DemoOptions(**DEMO), yesterday, app.settings.zone)
        }
        assert page.status_code == 200 and sum(name in page.text for name in seeded) >= 5
        feed = feedparser.parse((await web.get("/digest/feed.xml")).content)
        assert len(feed.entries) == 1 and yesterday.isoformat() in feed.entries[0].id

        anonymous = await web.get("/console/digest")
        assert anonymous.status_code == 303 and "/console/login" in anonymous.headers["location"]
        await login(web, add_staff(app))
        with anyio.fail_after(30):  # the demo releases today's first posts within a second
            while (
                "Aucune publication approuvée" in (preview := await web.get("/console/digest")).text
            ):
                await anyio.sleep(0.2)
        assert preview.status_code == 200
        assert "Aperçu pour l'équipe" in preview.text
        assert bundled_posts()[0]["author"]["name"] in preview.text  # the demo's first post today
        english = await web.get("/console/digest?lang=en")
        assert "Preview for staff" in english.text and "every evening at 6:00" in english.text
    assert app.digest.record(app.digest.today()) is None  # previewing publishes nothing
