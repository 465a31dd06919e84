"""The hallway screens in a real headless Chromium against a real uvicorn server.

Every test records each request the page makes and checks that none leaves the wall's
origin (the one exception, the YouTube player, is intercepted and answered locally).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.models import Post, Screen
from aggregator.moderation.decisions import decide
from aggregator.moderation.rules import Rules
from aggregator.settings import Settings
from tests.browser import artifact, browser  # noqa: F401  (fixture)
from tests.builders import candidate, result, source
from tests.conftest import LiveServer, pushed_only
from tests.wall.wall_data import seed_demo
from wall.assets import STATIC_DIR, Assets

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

FULL_HD = {"width": 1920, "height": 1080}
SCREENS = [
    {"name": "hall", "layout": "grid", "title": "Grand hall"},
    {"name": "scene", "layout": "spotlight", "title": "Salle plénière", "rotate_seconds": 3},
    {"name": "bandeau", "layout": "ticker", "title": "Bandeau"},
    {"name": "clair", "layout": "grid", "title": "Accueil", "theme": "light"},
]


@pytest.fixture
def wall_app(make_settings: Callable[..., Settings], store: Any) -> Livewall:
    app = Livewall(make_settings(screens=SCREENS), store=store, env={"LIVEWALL_API_TOKEN": "t0k"})
    return pushed_only(app)


@pytest.fixture
def server(wall_app: Livewall) -> Any:
    running = LiveServer(wall_app).start()
    yield running
    running.stop()


async def open_screen(browser: Any, url: str, requests: list[str]) -> Any:  # noqa: F811
    page = await browser.new_page(viewport=FULL_HD)
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    await page.goto(url)
    return page


def same_origin(requests: list[str], origin: str) -> list[str]:
    """The requests that left the wall's origin (none expected)."""
    return [url for url in requests if not url.startswith((origin + "/", "data:"))]


def pipeline(options: Any) -> Callable[[Livewall], Pipeline]:
    official = frozenset({options.name}) if options.official else frozenset()
    return lambda app: Pipeline(app.store, Rules(mode="pre", official_sources=official))


def ingest_one(app: Livewall, external_id: str, text: str, **fields: Any) -> int:
    options = fields.pop("options", source())
    report = pipeline(options)(app).ingest(options, result(candidate(external_id, text, **fields)))
    assert report.new + report.updated == 1
    with app.store.read() as session:
        post = session.exec(select(Post).where(Post.external_id == external_id)).one()
    assert post.id is not None
    return post.id


async def pushed(page: Any, selector: str, state: str = "visible") -> None:
    """The page reaches `state` as pushed (wall_app's fallback poll is a minute away)."""
    await page.wait_for_selector(selector, state=state, timeout=5000)


async def test_each_layout_renders_readable_without_overflow(
    browser: Any,  # noqa: F811
    server: LiveServer,
    wall_app: Livewall,
) -> None:
    seed_demo(wall_app, 14)
    requests: list[str] = []
    for screen in SCREENS:
        page = await open_screen(browser, f"{server.url}/wall/{screen['name']}", requests)
        await page.wait_for_timeout(700)
        await page.screenshot(path=artifact(f"wall-{screen['name']}-{screen['layout']}.png"))
        metrics = await page.evaluate(
            """() => {
              const body = document.querySelector('.post-body');
              const shown = [...document.querySelectorAll('.post')].filter(
                (c) => c.getBoundingClientRect().width > 0 && getComputedStyle(c).visibility !== 'hidden'
                  && getComputedStyle(c).display !== 'none');
              const outside = shown.filter((c) => {
                const r = c.getBoundingClientRect();
                return document.body.classList.contains('layout-grid')
                  && (r.right > innerWidth + 1 || r.bottom > innerHeight + 1);
              });
              return {font: parseFloat(getComputedStyle(body).fontSize), shown: shown.length,
                      outside: outside.length, scroll: document.documentElement.scrollWidth,
                      qr: !!document.querySelector('.qr svg'), hashtag: document.body.textContent.includes('#AssisesUMQ')};
            }"""
        )
        assert metrics["font"] >= 28, screen
        assert metrics["shown"] >= 1 and metrics["outside"] == 0, (screen, metrics)
        assert metrics["scroll"] <= FULL_HD["width"], screen
        assert metrics["qr"] and metrics["hashtag"]
        assert page.errors == []
        if screen["layout"] == "spotlight":
            await spotlight_rotates(page)
        await page.close()
    assert same_origin(requests, server.url) == []


async def test_an_older_tv_browser_without_relative_time_format_still_runs(
    browser: Any,  # noqa: F811
    server: LiveServer,
    wall_app: Livewall,
) -> None:
    seed_demo(wall_app, 3)
    page = await browser.new_page(viewport=FULL_HD)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.add_init_script("delete Intl.RelativeTimeFormat")  # as on Chromium < 71
    await page.goto(f"{server.url}/wall/hall")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.post time')]"
        ".some(t => /^il y a \\d+ min$/.test(t.textContent))"
    )
    post_id = ingest_one(wall_app, "vieux-tv", "Toujours en vie sur un vieux téléviseur")
    decide(wall_app.store, post_id, "approve", "marie")
    await page.wait_for_selector(f"#post-{post_id}", timeout=5000)  # the live script runs
    assert errors == []
    await page.close()


async def spotlight_rotates(page: Any) -> None:
    first = await page.get_attribute(".post.current", "id")
    assert await page.is_visible(".progress-bar.run")  # the cue of the next rotation
    await page.wait_for_function(
        "(id) => document.querySelector('.post.current')?.id !== id", arg=first, timeout=5000
    )
    await page.screenshot(path=artifact("wall-scene-rotated.png"))


@pytest.mark.both_stores
async def test_approved_post_appears_and_retracted_one_leaves_when_decided(
    browser: Any,  # noqa: F811
    server: LiveServer,
    wall_app: Livewall,
) -> None:
    """The README's "within a second": the decision is pushed to open screens as it commits
    (with the fallback poll a minute away, nothing else brings it in the time allowed)."""
    seed_demo(wall_app, 4)
    requests: list[str] = []
    page = await open_screen(browser, f"{server.url}/wall/hall", requests)
    await page.wait_for_selector(".post")
    post_id = ingest_one(wall_app, "live-1", "Nouvelle publication en direct des #AssisesUMQ")
    assert not await page.is_visible(f"#post-{post_id}")

    decide(wall_app.store, post_id, "approve", "marie")
    await page.wait_for_selector(f"#post-{post_id}:not(.entering)", timeout=5000)
    decide(wall_app.store, post_id, "retract", "marie")
    await page.wait_for_selector(f"#post-{post_id}", state="detached", timeout=5000)
    assert same_origin(requests, server.url) == []


def offline_copy(app: Livewall) -> bool:
    with app.store.read() as session:
        beat = session.get(Screen, "hall")
    return beat is not None and beat.offline_copy is True


async def screen_then_outage(
    browser: Any,  # noqa: F811
    app: Livewall,
    ready: str,
    until: Callable[[], bool] = lambda: True,
) -> tuple[list[int], LiveServer, Any, list[str]]:
    """Four posts on an open hall screen, then the server stops once `ready` is on the page
    and `until` holds (checked for up to 5 s)."""
    ids = seed_demo(app, 4)
    server = LiveServer(app).start()
    requests: list[str] = []
    page = await open_screen(browser, f"{server.url}/wall/hall", requests)
    await page.wait_for_selector(ready.format(last=ids[-1]), timeout=10000)
    for _ in range(50):
        if until():
            break
        await anyio.sleep(0.1)
    assert until(), "the condition before the outage never held"
    await anyio.to_thread.run_sync(server.stop)
    return ids, server, page, requests


@pytest.mark.both_stores
async def test_screen_survives_a_server_restart_and_misses_nothing(
    browser: Any,  # noqa: F811
    wall_app: Livewall,
) -> None:
    ids, first, page, requests = await screen_then_outage(browser, wall_app, "#post-{last}")

    await page.wait_for_selector(".offline-mark", state="visible", timeout=10000)
    assert await page.locator(".post").count() == 4  # the content stays while the server is gone
    # Changes made while the screen cannot hear: two new posts and one retraction.
    missed = [
        ingest_one(wall_app, f"gap-{n}", f"Pendant la coupure {n} #AssisesUMQ") for n in (1, 2)
    ]
    for post_id in missed:
        decide(wall_app.store, post_id, "approve", "marie")
    decide(wall_app.store, ids[1], "retract", "marie")
    await page.screenshot(path=artifact("wall-hall-offline.png"))

    second = LiveServer(wall_app, port=first.port).start()
    try:
        for post_id in missed:
            await page.wait_for_selector(f"#post-{post_id}", timeout=15000)
        await page.wait_for_selector(f"#post-{ids[1]}", state="detached", timeout=5000)
        await page.wait_for_selector(".offline-mark", state="hidden", timeout=5000)
        assert await page.locator(".post").count() == 5
        assert page.errors == []
    finally:
        await anyio.to_thread.run_sync(second.stop)
    assert same_origin(requests, first.url) == []


async def test_a_screen_restarted_during_an_outage_opens_its_last_wall(
    browser: Any,  # noqa: F811
    wall_app: Livewall,
) -> None:
    # Before the outage, the screen tells staff (heartbeat) that it holds its offline copy.
    ids, first, page, requests = await screen_then_outage(
        browser, wall_app, "#wall[data-offline-ready]", until=lambda: offline_copy(wall_app)
    )

    await page.reload()  # the TV restarts while the server is gone
    await page.wait_for_selector(f"#post-{ids[-1]}")
    assert await page.locator(".post").count() == 4
    await page.wait_for_selector(".offline-mark", state="visible", timeout=10000)
    broken = await page.evaluate(
        "[...document.querySelectorAll('.post img')].filter(i => !i.naturalWidth).length"
    )
    assert broken == 0  # avatars and pictures came from the cache too
    missed = ingest_one(wall_app, "outage-1", "Pendant la panne #AssisesUMQ")
    decide(wall_app.store, missed, "approve", "marie")

    second = LiveServer(wall_app, port=first.port).start()
    try:
        await page.wait_for_selector(f"#post-{missed}", timeout=15000)
        await page.wait_for_selector(".offline-mark", state="hidden", timeout=5000)
        assert page.errors == []
    finally:
        await anyio.to_thread.run_sync(second.stop)
    assert same_origin(requests, first.url) == []


async def test_announcement_and_emergency_reach_the_screen(
    browser: Any,  # noqa: F811
    server: LiveServer,
    wall_app: Livewall,
) -> None:
    seed_demo(wall_app, 6)
    page = await open_screen(browser, f"{server.url}/wall/hall", [])
    await page.wait_for_selector(".post")
    auth = {"Authorization": "Bearer t0k"}
    async with httpx.AsyncClient(base_url=server.url, headers=auth) as api:
        sent = await api.post(
            "/api/screens/messages",
            json={"text": "Le dîner est servi au niveau 4", "screens": ["hall"], "minutes": 10},
        )
        assert sent.status_code == 201
        await pushed(page, ".announcement-text:has-text('Le dîner')")
        await page.screenshot(path=artifact("wall-hall-announcement.png"))

        alarm = await api.post(
            "/api/screens/messages",
            json={
                "kind": "emergency",
                "text": "Évacuez le bâtiment par les sorties les plus proches",
            },
        )
        assert alarm.status_code == 201
        await pushed(page, ".emergency")
        await page.screenshot(path=artifact("wall-hall-emergency.png"))
        assert (await api.delete("/api/screens/emergency")).status_code == 200
        await pushed(page, ".emergency", state="hidden")
        await api.delete(f"/api/screens/messages/{sent.json()['id']}")
        await pushed(page, ".announcement", state="detached")


async def test_live_broadcast_shows_the_player_until_it_ends(
    browser: Any,  # noqa: F811
    make_settings: Callable[..., Settings],
    store: Any,
) -> None:
    screens = [{"name": "hall", "layout": "grid", "show_stream": True}]
    app = Livewall(make_settings(screens=screens), store=store, env={})
    seed_demo(app, 5)
    server = LiveServer(app).start()
    try:
        page = await (await browser.new_context(viewport=FULL_HD)).new_page()
        player: list[str] = []
        # The one third party a screen may load, and only during a broadcast: answered here.
        await page.route(
            "https://www.youtube-nocookie.com/**",
            lambda route: (
                player.append(route.request.url),
                route.fulfill(
                    body="<body style='background:#111'></body>", content_type="text/html"
                ),
            )[1],
        )
        await page.goto(f"{server.url}/wall/hall")
        assert await page.is_hidden(".stream")
        official = source("umq-youtube", official=True)
        live = dict(
            options=official,
            kind="live",
            live_state="live",
            title="Séance d'ouverture des Assises",
            url="https://www.youtube.com/watch?v=abcdefghijk",
            network="youtube",
        )
        post_id = ingest_one(app, "yt:live", "En direct de la plénière", **live)
        app.feed.notify(app.store.last_seq())
        await page.wait_for_selector(".stream iframe", timeout=3000)
        assert await page.is_visible(".live-banner")
        assert "youtube-nocookie.com/embed/abcdefghijk" in (
            await page.get_attribute(".stream iframe", "src") or ""
        )
        await page.screenshot(path=artifact("wall-hall-live.png"))
        assert player and all(
            u.startswith("https://www.youtube-nocookie.com/embed/") for u in player
        )

        ingest_one(app, "yt:live", "En direct de la plénière", **{**live, "live_state": "ended"})
        app.feed.notify(app.store.last_seq())
        await page.wait_for_selector(".stream", state="hidden", timeout=3000)
        assert await page.is_hidden(".live-banner") and post_id
    finally:
        server.stop()


async def reloaded(page: Any, timeout: float) -> bool:
    """Whether the page loaded again (the mark set on its window is gone) within `timeout` s."""
    try:
        await page.wait_for_function("() => !window.beforeReload", timeout=timeout * 1000)
    except PlaywrightTimeout:
        return False
    return True


async def mark(page: Any) -> None:
    await page.wait_for_selector(".post")
    await page.evaluate("() => { window.beforeReload = true; }")


async def test_screen_reloads_itself_after_a_deploy(
    browser: Any,  # noqa: F811
    wall_app: Livewall,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed_demo(wall_app, 4)
    first = LiveServer(wall_app).start()
    page = await open_screen(browser, f"{first.url}/wall/hall", [])
    await mark(page)
    old = await page.get_attribute("#wall", "data-version")
    await anyio.to_thread.run_sync(first.stop)
    # The deploy: the same app with one static file changed, so the version it announces differs.
    static = shutil.copytree(STATIC_DIR, tmp_path / "static")
    with (static / "wall.css").open("a") as css:
        css.write("\n/* deployed again */\n")
    monkeypatch.setattr("wall.app.Assets", lambda: Assets(static))
    second = LiveServer(wall_app, port=first.port).start()
    try:
        assert await reloaded(page, 15)
        await page.wait_for_selector(".post")
        assert await page.get_attribute("#wall", "data-version") == Assets(static).version != old
        assert await page.locator(".post").count() == 4
        await mark(page)
        assert not await reloaded(page, 2)  # once on the new version, it stays
        assert page.errors == []
    finally:
        await anyio.to_thread.run_sync(second.stop)


async def test_nightly_reload_waits_for_the_server(
    browser: Any,  # noqa: F811
    wall_app: Livewall,
) -> None:
    seed_demo(wall_app, 4)
    zone = "America/Toronto"
    context = await browser.new_context(viewport=FULL_HD, timezone_id=zone)
    page = await context.new_page()

    def due_in(seconds: float) -> tuple[str, float]:
        """A `?nightly=` time a few seconds from now on the screen's clock, and how many
        seconds from now it comes (whole seconds: the time has no fraction)."""
        now = datetime.now(ZoneInfo(zone))
        at = (now + timedelta(seconds=seconds)).replace(microsecond=0)
        return at.strftime("%H:%M:%S"), (at - now).total_seconds()

    def left(due: tuple[str, float], since: float) -> float:
        return due[1] - (time.monotonic() - since)

    server = LiveServer(wall_app).start()
    try:
        # The server answers: the screen reloads at the time. Margins leave a loaded
        # machine time to open the page before the time comes.
        started, due = time.monotonic(), due_in(6)
        await page.goto(f"{server.url}/wall/hall?nightly={due[0]}")
        await mark(page)
        assert left(due, started) > 0, "the page took longer to open than the margin"
        assert await reloaded(page, left(due, started) + 6)
        await page.wait_for_selector(".post")
        assert await page.locator(".post").count() == 4

        # The server is down when the time comes: no reload (it would show an error page).
        started, due = time.monotonic(), due_in(8)
        await page.goto(f"{server.url}/wall/hall?nightly={due[0]}")
        await mark(page)
        await anyio.to_thread.run_sync(server.stop)
        assert left(due, started) > 0, "the server took longer to stop than the margin"
        assert not await reloaded(page, left(due, started) + 3)  # the time passes, no reload
        assert await page.locator(".post").count() == 4  # still showing its posts
        server = LiveServer(wall_app, port=server.port).start()
        # Back: the reload that was due happens once the stream is there again.
        assert await reloaded(page, 15)
        await page.wait_for_selector(".post")
        await page.wait_for_selector(".offline-mark", state="hidden")
    finally:
        await anyio.to_thread.run_sync(server.stop)
