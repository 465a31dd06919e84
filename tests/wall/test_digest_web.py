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

from aggregator.application import Livewall
from aggregator.digest.runs import DigestRuns
from aggregator.store import Store
from tests.aggregator.digest.conftest import PROGRAM
from tests.aggregator.digest.day import (
    DAY,
    FORBIDDEN,
    QUIET,
    QUIET_TIMES,
    SMTPServer,
    add_post,
    at,
    seed_busy_day,
    seed_day,
    seed_quiet_day,
)
from tests.aggregator.digest.test_send import parts, received
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
    from aggregator.moderation.decisions import decide

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


def day_parts(html: str) -> dict[str, str]:
    """The whole day's parts on a page, by anchor: each one's HTML, up to the next part."""
    section = html.split('id="journee"', 1)[1].split("</section>", 1)[0]
    chunks = section.split('<div class="d-part" id="')[1:]
    return {chunk.split('"', 1)[0]: chunk for chunk in chunks}


def contents_links(html: str) -> list[str]:
    return re.findall(r'class="d-toc-link" href="([^"]*)"', html)


def emailed(make_settings: SettingsFactory, store: Store, smtp: SMTPServer) -> Livewall:
    """The day run as the worker runs it, the French edition sent to `smtp`."""
    settings = make_settings(
        event={"name": "Assises de test", "languages": ["fr", "en"]},
        server={"public_url": PUBLIC},
        digest={"smtp_url": smtp.url, "recipients": ["membres@example.org"]},
    )
    report = DigestRuns(settings, store, {}).run(DAY)
    assert report.outcome == "sent", report.message
    return Livewall(settings, store=store, env={})


async def test_four_people_without_engagement_are_each_on_the_page_and_in_the_email(
    make_settings: SettingsFactory, store: Store
) -> None:
    seed_quiet_day(store)  # no like, no featured post, no program
    with SMTPServer() as smtp:
        app = emailed(make_settings, store, smtp)
        text, html = parts(received(smtp))
    async with asgi_client(app) as client:
        page = (await client.get("/digest/2026-11-25")).text
        english = (await client.get("/digest/2026-11-25?lang=en")).text
    hours = day_parts(page)
    assert list(hours) == ["h09", "h11", "h14", "h16"]
    for key, post in QUIET.items():
        hour, minute = QUIET_TIMES[key]
        seen = (post["author_name"], f"{hour} h {minute:02d}", post["text"], post["url"])
        for where, body in (("page", page), ("email", html), ("text part", text)):
            assert [item for item in seen if item not in body] == [], (key, where)
        # On the page, in its hour, with its author, time, text and link together.
        assert all(item in hours[f"h{hour:02d}"] for item in seen[:3])
        assert f'href="{post["url"]}"' in hours[f"h{hour:02d}"] and f'href="{post["url"]}"' in html
    for body in (page, html, text):
        assert "Les voix de la journée" in body and "Heure par heure" in body
    assert "Ce qui a le plus circulé" not in page  # nothing was shared: no such claim
    assert contents_links(page) == ["#h09", "#h11", "#h14", "#h16"]
    assert "Voices of the day" in english and "Hour by hour" in english
    assert "9:05 a.m." in english and "Les voix de la journée" not in english


@pytest.mark.parametrize("count", [30, 31])
async def test_the_email_lists_thirty_posts_and_links_the_page_beyond(
    make_settings: SettingsFactory, store: Store, count: int
) -> None:
    seed_busy_day(store, count)
    with SMTPServer() as smtp:
        app = emailed(make_settings, store, smtp)
        text, html = parts(received(smtp))
    async with asgi_client(app) as client:
        page = (await client.get("/digest/2026-11-25")).text
        feed = parse((await client.get("/digest/feed.xml")).content).entries[0].content[0].value
    texts = [f"Message numéro {n} de la journée" for n in range(count)]
    links = [f'href="https://mastodon.example/@x/busy{n}"' for n in range(count)]
    # The page always has the whole day, each part reachable from its contents.
    assert [t for t in texts + links if t not in page] == []
    assert contents_links(page) == [f"#{anchor}" for anchor in day_parts(page)]
    full_day = f"{PUBLIC}/digest/2026-11-25#journee"
    if count <= 30:
        for body in (html, text, feed):
            assert [t for t in texts if t not in body] == []
        assert [link for link in links if link not in html] == []
        assert full_day not in html
    else:
        highlights = DigestRuns(app.settings, store, {}).content(DAY).highlights
        for body in (html, text, feed):
            assert len([t for t in texts if t in body]) == len(highlights) == 5
            assert full_day in body
        assert "Les 31 publications en ligne" in html and "Les 31 publications en ligne" in text
        # The email's contents lead into the page's hours.
        assert f'href="{PUBLIC}/digest/2026-11-25#h08"' in html


async def test_a_day_with_a_program_is_listed_by_session_and_off_the_program(
    client: httpx.AsyncClient, digest_app: Livewall
) -> None:
    ids = seed_day(digest_app.store)
    publish(digest_app)
    page = (await client.get("/digest/2026-11-25")).text
    sessions = day_parts(page)
    assert list(sessions) == ["s1", "s2", "s3", "s4", "off"]
    assert contents_links(page) == ["#s1", "#s2", "#s3", "#s4", "#off"]
    assert "Séance par séance" in page and "Plénière d&#39;ouverture" in sessions["s1"]

    def under(anchor: str) -> set[str]:
        return {
            key for key in ids if f'href="https://mastodon.example/@x/{key}"' in sessions[anchor]
        }

    # A session given in UTC in the program shows at the room's clock time.
    assert "10 h 30 – 11 h 30 · Salle 301B" in sessions["s3"]
    assert under("s1") == {"opening"}
    assert under("s2") == under("s3") == {"popular", "quiet"}  # overlapping workshops
    assert under("s4") == {"warned", "video"}
    assert under("off") == {"lunch", "evening"} and "Hors programme" in sessions["off"]
    assert "SECRET-CW-TEXT" not in page and "Harcèlement en ligne" in sessions["s4"]
    english = (await client.get("/digest/2026-11-25?lang=en")).text
    assert "Session by session" in english and "Off the program" in day_parts(english)["off"]


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
    seed_busy_day(digest_app.store, 40)  # past the email's limit: it links to the page
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
    await _contents_lead_to_their_part(page)
    # Only the missing favicon may fail: no CSP violation, no broken asset.
    assert [e for e in errors if "404" not in e] == []
    await page.close()


async def _contents_lead_to_their_part(page: Any) -> None:
    """A line of the contents scrolls its part to the top; reading on, its heading stays."""
    link = page.locator(".d-toc-link").nth(1)
    target = await link.get_attribute("href")
    await link.click()
    top = f"document.querySelector('{target}').getBoundingClientRect().top"
    assert abs(await page.evaluate(top)) < 2
    await page.mouse.wheel(0, 400)
    # A function, as the other browser tests give it: an expression is evaluated with eval()
    # whenever the condition is not true at once, which the page's CSP refuses.
    await page.wait_for_function(f"() => {top} < -300")
    heading = f"document.querySelector('{target} .d-part-head').getBoundingClientRect().top"
    assert abs(await page.evaluate(heading)) < 2


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
