"""A language that sticks: `?lang=` or a page's switch sets it, a cookie keeps it for anyone, the
account keeps it for staff; times are formatted the way each language writes them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from aggregator import accounts
from aggregator.application import Livewall
from aggregator.digest.runs import DigestRuns
from aggregator.moderation.decisions import decide
from tests.aggregator.digest.day import DAY, seed_day
from tests.conftest import asgi_client
from tests.wall.console.conftest import add_staff, held, login
from wall.i18n import LANGUAGE_COOKIE

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(livewall: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(livewall) as c:
        yield c


@pytest.fixture
async def marie(livewall: Livewall, client: httpx.AsyncClient) -> str:
    """A moderator logged in on `client`; her CSRF token."""
    add_staff(livewall, "marie")
    return await login(client, "marie")


def lang_of(page: httpx.Response) -> str:
    found = re.search(r'<html lang="([^"]+)"', page.text)
    assert found is not None, page.text[:200]
    return found.group(1)


async def test_lang_in_the_address_sticks_for_anyone_across_pages(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/wall/?lang=en")
    assert lang_of(first) == "en-CA" and "Screens" in first.text
    assert f"{LANGUAGE_COOKIE}=en" in first.headers["set-cookie"]
    # The switch offers this page in French, by a link that says so.
    assert 'href="/wall/?lang=fr" hreflang="fr" lang="fr">Français</a>' in first.text
    for path in ("/wall/", "/console/login", "/digest/"):
        assert lang_of(await client.get(path)) == "en-CA", path
    await client.get("/digest/?lang=fr")
    assert lang_of(await client.get("/console/login")) == "fr-CA"


async def test_a_screen_page_follows_the_browser_s_language(client: httpx.AsyncClient) -> None:
    await client.get("/wall/?lang=en")
    assert lang_of(await client.get("/wall/hall")) == "en-CA"  # no language of its own
    assert lang_of(await client.get("/wall/hall?lang=fr")) == "fr-CA"


async def test_staff_language_is_kept_with_the_account(
    livewall: Livewall, client: httpx.AsyncClient, marie: str
) -> None:
    assert lang_of(await client.get("/console")) == "fr-CA"
    switched = await client.post(
        "/console/preferences",
        data={"csrf": marie, "language": "en", "next": "/console/stats"},
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/console/stats"
    user = accounts.find_user(livewall.store, "marie")
    assert user is not None and user.id is not None
    assert livewall.accounts.preferences(user.id) == {"language": "en"}
    page = await client.get("/console/audit")
    assert lang_of(page) == "en-CA" and 'value="fr" lang="fr">Français</button>' in page.text

    # Another browser, no cookie yet: the account's language follows marie there at login.
    async with asgi_client(livewall) as other:
        assert lang_of(await other.get("/console/login")) == "fr-CA"
        await login(other, "marie")
        assert lang_of(await other.get("/console")) == "en-CA"


async def test_a_wrong_preference_is_a_clear_400(
    livewall: Livewall, client: httpx.AsyncClient, marie: str
) -> None:
    for field, value in (("language", "de"), ("shortcuts", "maybe")):
        answer = await client.post("/console/preferences", data={"csrf": marie, field: value})
        assert answer.status_code == 400 and f"form field '{field}'" in answer.text
    secret = accounts.create_token(livewall.store, "script", "moderator", "ada")
    async with asgi_client(livewall) as script:
        answer = await script.post(
            "/console/preferences",
            data={"shortcuts": "off"},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert answer.status_code == 400 and "API token has no preferences" in answer.text


async def test_statistics_hours_read_right_in_each_language(
    livewall: Livewall, client: httpx.AsyncClient, marie: str
) -> None:
    for post_id in held(livewall, 2):
        decide(livewall.store, post_id, "approve", "ada")
    english = (await client.get("/console/stats?lang=en")).text
    french = (await client.get("/console/stats?lang=fr")).text
    assert re.search(r">\d{1,2} [ap]\.m\.<", english) and not re.search(r">\d\d h<", english)
    assert re.search(r">\d{1,2} h<", french)


async def test_the_english_digest_ends_its_sentences_once(
    livewall: Livewall, client: httpx.AsyncClient
) -> None:
    seed_day(livewall.store)
    assert DigestRuns(livewall.settings, livewall.store, {}).run(DAY).outcome == "published"
    english = (await client.get(f"/digest/{DAY.isoformat()}?lang=en")).text
    french = (await client.get(f"/digest/{DAY.isoformat()}?lang=fr")).text
    footer = english.split('class="dg-footer"', 1)[1]
    assert re.search(r"Published \w+ \d+, 2026, \d+:\d\d [ap]\.m\. Posts", " ".join(footer.split()))
    assert ".." not in re.sub(r"<[^>]+>", "", footer)
    assert re.search(r"Publié le \d+ \w+ 2026, \d+ h \d\d\.", " ".join(french.split()))
