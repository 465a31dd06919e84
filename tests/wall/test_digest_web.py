"""The digest on the web: day pages, the archive, the Atom feed, and how they look."""

from __future__ import annotations

import email
import re
from collections.abc import AsyncIterator
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from aggregator.digest.runs import DigestRuns
from aggregator.livewall import Livewall
from aggregator.store import Store
from tests.aggregator.digest.conftest import PROGRAM
from tests.aggregator.digest.day import DAY, FORBIDDEN, SMTPServer, add_post, at, seed_day
from tests.conftest import LiveServer, SettingsFactory, asgi_client
from tests.wall.test_media import image_bytes
from wall.egress import any_address
from wall.media import MediaCache

pytestmark = pytest.mark.anyio
PUBLIC = "https://mur.example.org"


@pytest.fixture
def digest_app(make_settings: SettingsFactory, store: Store) -> Livewall:
    settings = make_settings(
        event={"name": "Assises de test", "program": str(PROGRAM), "languages": ["fr", "en"]},
        server={"public_url": PUBLIC},
    )
    return Livewall(settings, store=store, env={})


@pytest.fixture
async def client(digest_app: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(digest_app) as c:
        yield c


def publish(app: Livewall, day: date = DAY) -> None:
    assert DigestRuns(app.settings, app.store, {}).run(day).outcome == "published"


async def test_a_published_day_is_a_public_page(
    client: httpx.AsyncClient, digest_app: Livewall
) -> None:
    seed_day(digest_app.store)
    publish(digest_app)
    page = await client.get("/digest/2026-11-25")
    assert page.status_code == 200
    html = page.text
    assert "La journée en cinq minutes" in html and "Les moments forts" in html
    assert "Ouverture officielle des Assises" in html and "Hors programme" in html
    assert not [f for f in FORBIDDEN if f in html]
    assert 'src="/media/demo/stage.jpg"' in html and "<svg" in html
    assert "digest.css" in html and "style=" not in html  # the CSP refuses style attributes
    assert "default-src 'self'" in page.headers["content-security-policy"]
    english = await client.get("/digest/2026-11-25?lang=en")
    assert "Highlights" in english.text and "Off the program" in english.text


async def test_the_page_follows_the_store_after_publication(
    client: httpx.AsyncClient, digest_app: Livewall
) -> None:
    ids = seed_day(digest_app.store)
    publish(digest_app)
    from aggregator.moderation import decide

    decide(digest_app.store, ids["opening"], "retract", "marie")
    page = await client.get("/digest/2026-11-25")
    assert "Ouverture officielle des Assises" not in page.text


async def test_archive_lists_every_day(client: httpx.AsyncClient, digest_app: Livewall) -> None:
    seed_day(digest_app.store)
    add_post(digest_app.store, "thursday", at(9, day=date(2026, 11, 26)))
    publish(digest_app)
    publish(digest_app, date(2026, 11, 26))
    page = await client.get("/digest/")
    assert page.status_code == 200
    days = re.findall(r'href="/digest/(\d{4}-\d\d-\d\d)"', page.text)
    assert days == ["2026-11-26", "2026-11-25"]
    assert "mercredi 25 novembre 2026" in page.text and "7 publications" in page.text


async def test_a_day_without_digest_is_a_clear_404(client: httpx.AsyncClient) -> None:
    page = await client.get("/digest/2026-11-24")
    assert page.status_code == 404
    assert "Aucun résumé pour cette journée" in page.text and "24 novembre 2026" in page.text


@pytest.mark.parametrize("bad", ["2026-13-01", "hier", "2026-11-25x"])
async def test_a_malformed_date_is_a_400(client: httpx.AsyncClient, bad: str) -> None:
    page = await client.get(f"/digest/{bad}")
    assert page.status_code == 400 and "YYYY-MM-DD" in page.text


PHOTO = "https://photos.example.org/assises/scene.jpg"
AVATAR = "https://cdn.example.org/avatars/marie.png"
REMOTE = {PHOTO: image_bytes((1600, 900), "JPEG"), AVATAR: image_bytes((400, 400), "PNG")}


def remote_images(request: httpx.Request) -> httpx.Response:
    """The two "remote" images, answered in-process: the test never leaves the machine."""
    body = REMOTE.get(str(request.url))
    return httpx.Response(200, content=body) if body else httpx.Response(404)


@pytest.mark.parametrize(
    "worker_env, web_env",
    [
        # One host: both processes find the key in the same media folder.
        ({"LIVEWALL_MEDIA_DIR": "{tmp}/media"}, {"LIVEWALL_MEDIA_DIR": "{tmp}/media"}),
        # Two hosts: different folders, the key derived from the shared secret.
        (
            {"LIVEWALL_MEDIA_DIR": "{tmp}/worker", "LIVEWALL_SECRET_KEY": "s3cret"},
            {"LIVEWALL_MEDIA_DIR": "{tmp}/web", "LIVEWALL_SECRET_KEY": "s3cret"},
        ),
    ],
    ids=["shared-folder", "shared-secret"],
)
async def test_a_remote_image_in_the_email_is_signed_for_the_wall_media_cache(
    make_settings: SettingsFactory,
    store: Store,
    tmp_path: Path,
    worker_env: dict[str, str],
    web_env: dict[str, str],
) -> None:

    worker_env = {k: v.format(tmp=tmp_path) for k, v in worker_env.items()}
    web_env = {k: v.format(tmp=tmp_path) for k, v in web_env.items()}
    add_post(
        store, "photo", at(10), network="bluesky", featured=True, author_avatar=AVATAR,
        text="La salle est pleine", media=[{"url": PHOTO, "alt": "La salle"}],
    )  # fmt: skip
    with SMTPServer() as smtp:
        settings = make_settings(
            server={"public_url": PUBLIC},
            digest={"smtp_url": smtp.url, "recipients": ["membres@example.org"]},
        )
        # The worker's side: the scheduled run sends the email.
        assert DigestRuns(settings, store, worker_env).run(DAY).outcome == "sent"
        message = email.message_from_bytes(smtp.mailbox.messages[0].data, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    image = re.search(rf'src="{PUBLIC}(/media/r/[^"?]+)" alt="La salle"', html)
    avatar = re.search(rf'src="{PUBLIC}(/media/r/[^"]+\?s=avatar)"', html)
    assert image and avatar, html
    assert "photos.example.org" not in html and "cdn.example.org" not in html
    # The web process's side: it has the images in its cache (fetched once, as for a screen)
    # and serves the addresses the worker signed.
    web_dir = Path(web_env["LIVEWALL_MEDIA_DIR"])
    warm = MediaCache(web_dir, addresses=any_address, transport=httpx.MockTransport(remote_images))
    await warm.get(PHOTO)
    await warm.get(AVATAR, "avatar")
    async with asgi_client(Livewall(settings, store=store, env=web_env)) as client:
        photo = await client.get(image.group(1))
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
        face = await client.get(avatar.group(1))
        assert face.status_code == 200 and face.content[:3] == b"\xff\xd8\xff"  # 192 px JPEG
        forged = image.group(1).rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAA"
        assert (await client.get(forged)).status_code == 404
        # The day's page shows the same images, on the wall's own origin.
        page = (await client.get("/digest/2026-11-25")).text
        assert f'src="{image.group(1)}"' in page


def parse(body: bytes) -> Any:
    return feedparser.parse(body)


async def test_the_atom_feed_is_valid_and_its_ids_stay_when_a_day_is_rebuilt(
    client: httpx.AsyncClient, digest_app: Livewall
) -> None:
    seed_day(digest_app.store)
    publish(digest_app)
    first = await client.get("/digest/feed.xml")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/atom+xml")
    feed = parse(first.content)
    assert feed.version == "atom10" and not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.id == f"{PUBLIC}/digest/" and feed.feed.title and feed.feed.updated
    assert feed.feed.author == "Assises de test"
    (entry,) = feed.entries
    assert entry.id == "tag:mur.example.org,2026-11-25:livewall/digest/2026-11-25"
    assert entry.link == f"{PUBLIC}/digest/2026-11-25"
    assert entry.title == "Assises de test — la journée du 25 novembre" and entry.updated
    assert "Ouverture officielle des Assises" in entry.content[0].value
    assert f"{PUBLIC}/media/demo/stage.jpg" in entry.content[0].value  # absolute for readers
    assert not [f for f in FORBIDDEN if f in first.text]
    add_post(digest_app.store, "late", at(17, 55), text="Un dernier mot")
    publish(digest_app)  # rebuilt: new content, same identity
    (rebuilt,) = parse((await client.get("/digest/feed.xml")).content).entries
    assert "7 publications" in entry.summary and "8 publications" in rebuilt.summary
    assert rebuilt.id == entry.id
    assert rebuilt.updated_parsed >= entry.updated_parsed
    english = parse((await client.get("/digest/feed.xml?lang=en")).content)
    assert english.entries[0].id != entry.id and english.feed.language == "en-CA"


async def test_an_empty_feed_is_still_valid_atom(client: httpx.AsyncClient) -> None:
    feed = parse((await client.get("/digest/feed.xml")).content)
    assert feed.version == "atom10" and feed.entries == [] and not feed.bozo


CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
async def test_page_and_email_look_right_on_a_phone_and_a_desktop(digest_app: Livewall) -> None:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Chromium at /usr/bin/chromium (Debian package 'chromium')")
    from playwright.async_api import async_playwright

    seed_day(digest_app.store)
    publish(digest_app)
    runs = DigestRuns(digest_app.settings, digest_app.store, {})
    server = LiveServer(digest_app).start()
    # The email's absolute image URLs point at the public address; here, at the test server.
    email = runs.edition(runs.content(DAY)).email_html.replace(PUBLIC, server.url)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                for width in (375, 1280):
                    await _page(browser, f"{server.url}/digest/2026-11-25", width)
                    await _email(browser, email, width)
            finally:
                await browser.close()
    finally:
        server.stop()


async def _page(browser: Any, url: str, width: int) -> None:
    page = await browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    await _looks_finished(page, width)
    await page.screenshot(path=ARTIFACTS / f"digest-page-{width}.png", full_page=True)
    # Only the missing favicon may fail: no CSP violation, no broken asset.
    assert [e for e in errors if "404" not in e] == []
    await page.close()


async def _email(browser: Any, email: str, width: int) -> None:
    # A fresh page: one that showed the wall would keep its CSP for the new content.
    page = await browser.new_page(viewport={"width": width, "height": 900})
    await page.set_content(email)
    await page.wait_for_load_state("networkidle")
    await _looks_finished(page, width)
    await page.screenshot(path=ARTIFACTS / f"digest-email-{width}.png", full_page=True)
    await page.close()


async def _looks_finished(page: Any, width: int) -> None:
    """No sideways scrolling on a phone, every image loaded, the masthead on screen."""
    scroll_width = await page.evaluate("document.scrollingElement.scrollWidth")
    # The innermost elements sticking out say what to fix.
    wide = await page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > "
        "innerWidth + 1 && ![...e.children].some(c => c.getBoundingClientRect().right > "
        "innerWidth + 1)).map(e => e.tagName + '.' + e.className)"
    )
    assert scroll_width <= width, wide
    broken = await page.evaluate(
        "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == []
    assert await page.locator(".d-masthead").is_visible()
