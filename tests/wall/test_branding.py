"""The event's look on the pages: the logo and stylesheet served from our origin, the colours
and font as CSS custom properties linked after wall.css."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.store import Store
from tests.conftest import SettingsFactory
from tests.wall.console.conftest import add_staff, held, login
from tests.wall.wall_data import asgi_client

pytestmark = pytest.mark.anyio

ASSISES = {
    "logo": "branding/assises-umq.svg",
    "background": "#0b2545",
    "accent": "#4fc3f7",
    "font": "open-sans",
    "stylesheet": "branding/assises-umq.css",
}
SCREENS = [
    {"name": "hall", "layout": "grid"},
    {"name": "accueil", "layout": "spotlight", "theme": "light", "background": "#f3f6fa",
     "accent": "#00539b", "font": "source-serif-4"},
    {"name": "bandeau", "layout": "ticker"},
]  # fmt: skip


@pytest.fixture
def branded_wall(make_settings: SettingsFactory, store: Store) -> Livewall:
    return Livewall(make_settings(branding=ASSISES, screens=SCREENS), store=store, env={})


@pytest.fixture
async def branded(branded_wall: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(branded_wall) as client:
        yield client


def stylesheets(page: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)


async def test_a_screen_links_its_look_after_wall_css(branded: httpx.AsyncClient) -> None:
    page = (await branded.get("/wall/hall")).text
    sheets = stylesheets(page)
    assert sheets[0].startswith("/static/wall.css") and len(sheets) == 3
    assert all(re.fullmatch(r"/branding/[0-9a-f]{16}\.css", href) for href in sheets[1:])
    assert re.search(r'<body class="wall branded theme-dark layout-grid', page)
    variables = (await branded.get(sheets[1])).text
    assert "--bg: #0b2545;" in variables and "--accent: #4fc3f7;" in variables
    assert (
        '--font: "Open Sans"' in variables and "/static/fonts/open-sans-700.woff2?v=" in variables
    )
    own = await branded.get(sheets[2])
    assert ".wall-header" in own.text and own.headers["content-type"].startswith("text/css")
    assert "max-age=31536000" in own.headers["cache-control"]


async def test_a_screen_key_overrides_branding_in_its_variables(
    branded: httpx.AsyncClient,
) -> None:
    page = (await branded.get("/wall/accueil")).text
    variables = (await branded.get(stylesheets(page)[1])).text
    assert "--bg: #f3f6fa;" in variables and "--accent: #00539b;" in variables
    assert '"Source Serif 4"' in variables and "Open Sans" not in variables
    assert "theme-light" in page


async def test_every_font_file_a_look_names_is_served(branded: httpx.AsyncClient) -> None:
    for screen in ("hall", "accueil"):
        page = (await branded.get(f"/wall/{screen}")).text
        variables = (await branded.get(stylesheets(page)[1])).text
        for url in re.findall(r'url\("([^"]+)"\)', variables):
            font = await branded.get(url)
            assert font.status_code == 200 and font.content[:4] == b"wOF2", url


async def test_the_logo_is_served_from_our_origin(branded: httpx.AsyncClient) -> None:
    page = (await branded.get("/wall/bandeau")).text
    found = re.search(r'<img class="brand-logo" src="(/branding/[0-9a-f]{16}\.svg)" alt="">', page)
    assert found and "brand-mark" not in page
    logo = await branded.get(found.group(1))
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/svg+xml"
    assert (
        b"<svg" in logo.content and "default-src 'none'" in logo.headers["content-security-policy"]
    )


@pytest.mark.parametrize("name", ["../assises-umq.toml", "0123456789abcdef.css", "logo.svg"])
async def test_nothing_else_is_served_under_branding(branded: httpx.AsyncClient, name: str) -> None:
    assert (await branded.get(f"/branding/{name}")).status_code == 404


async def test_without_branding_the_themes_stand(web: httpx.AsyncClient) -> None:
    page = (await web.get("/wall/hall")).text
    assert len(stylesheets(page)) == 1 and "branded" not in page and "brand-mark" in page


async def test_the_console_preview_wears_the_first_screens_look(
    branded: httpx.AsyncClient, branded_wall: Livewall
) -> None:
    add_staff(branded_wall, "marie")
    [post] = held(branded_wall, 1)
    await login(branded, "marie")
    page = (await branded.get(f"/console/posts/{post}/preview")).text
    assert 'class="wall preview branded theme-dark' in page and len(stylesheets(page)) == 3
