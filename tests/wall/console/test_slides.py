"""The console's slides page: a slide scheduled from the form (text, image, screens, times in
the event's zone, how often), refused in French when wrong, previewed as the screens draw it,
and taken down; behind the session and its CSRF token like every console form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.settings import Settings
from aggregator.store import Store
from tests.wall.console.conftest import add_staff, login
from tests.wall.test_media import image_bytes
from tests.wall.wall_data import asgi_client

pytestmark = pytest.mark.anyio
SCREENS = [
    {"name": "hall", "layout": "grid", "title": "Grand hall"},
    {"name": "scene", "layout": "spotlight", "theme": "light"},
]
BRANDING = {"background": "#0b2545", "accent": "#4fc3f7"}


@pytest.fixture
def slides_app(make_settings: Callable[..., Settings], store: Store, tmp_path: Path) -> Livewall:
    settings = make_settings(screens=SCREENS, branding=BRANDING)
    return Livewall(settings, store=store, env={"LIVEWALL_MEDIA_DIR": str(tmp_path / "media")})


@pytest.fixture
async def console(slides_app: Livewall) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    add_staff(slides_app, "marie")
    async with asgi_client(slides_app) as client:
        yield client, await login(client, "marie")


def form(csrf: str, zone: ZoneInfo, **fields: Any) -> dict[str, Any]:
    now = datetime.now(zone).replace(second=0, microsecond=0, tzinfo=None)
    return {
        "csrf": csrf, "op": "add", "kind": "sponsor", "text": "Merci à Hydro-Québec",
        "starts_at": (now - timedelta(minutes=5)).isoformat(timespec="minutes"),
        "ends_at": (now + timedelta(hours=2)).isoformat(timespec="minutes"),
        "every": "5", "every_unit": "posts", "show_seconds": "8", **fields,
    }  # fmt: skip


async def test_a_slide_is_scheduled_previewed_and_taken_down(
    console: tuple[httpx.AsyncClient, str], slides_app: Livewall
) -> None:
    client, csrf = console
    page = await client.get("/console/slides")
    assert page.status_code == 200 and 'name="every_unit"' in page.text
    assert 'href="/console/slides" aria-current="page"' in page.text
    sent = await client.post(
        "/console/slides",
        data=form(csrf, slides_app.settings.zone, screens=["scene"], every="90",
                  every_unit="seconds"),
        files={"image": ("logo.png", image_bytes((600, 300), "PNG"), "image/png")},
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == "/console/slides?done=scheduled"
    [slide] = slides_app.slides.pending()
    assert slide.every_seconds == 90 and slide.every_posts is None and slide.screens == ["scene"]
    assert slide.created_by == "marie" and slide.image is not None
    listing = (await client.get("/console/slides?done=scheduled")).text
    assert "La diapositive est programmée." in listing
    assert f'src="/console/slides/{slide.id}/preview"' in listing
    preview = await client.get(f"/console/slides/{slide.id}/preview")
    assert preview.status_code == 200 and "Merci à Hydro-Québec" in preview.text
    # Drawn in the look of the screen it is for (light theme, the event's colours).
    assert "theme-light" in preview.text and "branded" in preview.text
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    down = await client.post(
        "/console/slides", data={"csrf": csrf, "op": "take-down", "id": str(slide.id)}
    )
    assert down.status_code == 303 and slides_app.slides.pending() == []


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"text": ""}, "Une diapositive a besoin d'un texte, d'une image, ou des deux."),
        ({"every": "0"}, "every_posts must be between 1 and 200"),
        ({"ends_at": "pas une date"}, "field 'ends_at' must be a date and time"),
        ({"screens": ["lobby"]}, "unknown screens"),
    ],
)
async def test_a_wrong_slide_is_shown_again_with_the_reason(
    console: tuple[httpx.AsyncClient, str], slides_app: Livewall, fields: dict[str, Any], said: str
) -> None:
    client, csrf = console
    refused = await client.post(
        "/console/slides", data=form(csrf, slides_app.settings.zone, **fields)
    )
    assert refused.status_code == 400 and said in refused.text.replace("&#39;", "'")
    assert slides_app.slides.recent() == []


async def test_the_form_needs_its_csrf_token(
    console: tuple[httpx.AsyncClient, str], slides_app: Livewall
) -> None:
    client, _ = console
    refused = await client.post("/console/slides", data=form("wrong", slides_app.settings.zone))
    assert refused.status_code == 403 and slides_app.slides.recent() == []


async def test_a_missing_slide_has_no_preview(console: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = console
    assert (await client.get("/console/slides/999/preview")).status_code == 404
    assert re.search("diapositive|slide", (await client.get("/console/slides")).text)
