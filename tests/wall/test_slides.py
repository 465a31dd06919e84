"""Slides through the JSON API: JSON and multipart, the token, errors that name the field,
and what a screen's page and stream receive."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.models import utcnow
from aggregator.settings import Settings
from aggregator.store import Store
from tests.conftest import LiveServer
from tests.wall.test_media import image_bytes
from tests.wall.test_screens import read_events
from tests.wall.wall_data import asgi_client

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCREENS = [{"name": "hall", "layout": "grid"}, {"name": "scene", "layout": "spotlight"}]


@pytest.fixture
def slides_app(make_settings: Callable[..., Settings], store: Store, tmp_path: Path) -> Livewall:
    env = {"LIVEWALL_API_TOKEN": TOKEN, "LIVEWALL_MEDIA_DIR": str(tmp_path / "media")}
    return Livewall(make_settings(screens=SCREENS), store=store, env=env)


@pytest.fixture
async def api(slides_app: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(slides_app) as client:
        yield client


def in_hours(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


async def test_the_routes_need_the_token(api: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/screens/slides"),
        ("POST", "/api/screens/slides"),
        ("DELETE", "/api/screens/slides/1"),
    ]:
        response = await api.request(method, path, json={"text": "x"})
        assert response.status_code == 401, (method, path)


async def test_a_text_slide_is_added_listed_and_taken_down(api: httpx.AsyncClient) -> None:
    made = await api.post(
        "/api/screens/slides",
        headers=AUTH,
        json={"text": "Merci à nos partenaires", "ends_at": in_hours(2), "every_seconds": 120,
              "screens": ["scene"], "kind": "sponsor"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    slide = made.json()
    assert slide["every_seconds"] == 120 and slide["show_seconds"] == 8 and slide["active"]
    listing = (await api.get("/api/screens/slides", headers=AUTH)).json()
    assert [s["id"] for s in listing["pending"]] == [slide["id"]]
    gone = await api.delete(f"/api/screens/slides/{slide['id']}", headers=AUTH)
    assert gone.status_code == 200 and gone.json()["active"] is False
    again = await api.delete(f"/api/screens/slides/{slide['id']}", headers=AUTH)
    assert again.status_code == 409 and "already taken down" in again.json()["error"]
    missing = await api.delete("/api/screens/slides/999", headers=AUTH)
    assert missing.status_code == 404


async def test_a_time_without_offset_is_the_events_local_time(
    api: httpx.AsyncClient, slides_app: Livewall
) -> None:
    zone = ZoneInfo(slides_app.settings.event.timezone)
    local = (datetime.now(zone) + timedelta(hours=1)).replace(microsecond=0, tzinfo=None)
    made = await api.post(
        "/api/screens/slides",
        headers=AUTH,
        json={"text": "Plénière", "starts_at": local.isoformat(),
              "ends_at": (local + timedelta(hours=1)).isoformat(), "every_posts": 10},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    starts = datetime.fromisoformat(made.json()["starts_at"])
    assert starts == local.replace(tzinfo=zone)


async def test_an_image_slide_by_multipart(api: httpx.AsyncClient) -> None:
    made = await api.post(
        "/api/screens/slides",
        headers=AUTH,
        data={"ends_at": in_hours(1), "every_posts": "5", "screens": ["hall", "scene"]},
        files={"image": ("partenaire.png", image_bytes((800, 400), "PNG"), "image/png")},
    )
    assert made.status_code == 201, made.text
    slide = made.json()
    assert slide["text"] == "" and slide["screens"] == ["hall", "scene"]
    image = await api.get(slide["image"])
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"text": "x", "every_posts": 3}, "field 'ends_at' is required"),
        ({"text": "x", "ends_at": "demain", "every_posts": 3}, "field 'ends_at' must be a date"),
        ({"text": "x", "ends_at": "IN", "every_posts": "3"}, "field 'every_posts' must be int"),
        ({"text": "x", "ends_at": "IN", "every_posts": 3, "screens": ["lobby"]}, "unknown screens"),
        ({"text": "x", "ends_at": "IN"}, "every_posts or every_seconds"),
        ({"text": "x", "ends_at": "IN", "every_posts": 3, "image": "a.png"}, "multipart"),
    ],
)
async def test_a_wrong_slide_is_a_400_naming_what_is_wrong(
    api: httpx.AsyncClient, body: dict[str, object], said: str
) -> None:
    if body.get("ends_at") == "IN":
        body = {**body, "ends_at": in_hours(1)}
    refused = await api.post("/api/screens/slides", headers=AUTH, json=body)
    assert refused.status_code == 400 and said in refused.json()["error"], refused.text


async def test_an_svg_is_refused_and_nothing_is_kept(
    api: httpx.AsyncClient, slides_app: Livewall
) -> None:
    refused = await api.post(
        "/api/screens/slides",
        headers=AUTH,
        data={"text": "x", "ends_at": in_hours(1), "every_posts": "2"},
        files={
            "image": ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
        },
    )
    assert refused.status_code == 400 and "SVG" in refused.json()["error"]
    assert slides_app.slides.recent() == []


async def test_the_screen_page_and_stream_carry_the_slides(
    api: httpx.AsyncClient, slides_app: Livewall
) -> None:
    from aggregator.slides import SlidePlan

    now = utcnow()
    slides_app.slides.add(SlidePlan(now, now + timedelta(hours=1), "Pour la scène", screens=["scene"], every_posts=2))  # fmt: skip
    page = (await api.get("/wall/scene")).text
    state = json.loads(page.split('id="wall-state">')[1].split("</script>")[0])
    assert [s["text"] for s in state["slides"]] == ["Pour la scène"] and state["now"]
    assert '"slides": []' in (await api.get("/wall/hall")).text
    # The real server is another app on the store, as a second process would be: one app's
    # change feed belongs to the loop that started it, and `api`'s runs on the test's.
    other = Livewall(slides_app.settings, store=slides_app.store, env=slides_app.env)
    server = LiveServer(other).start()
    try:
        scene = read_events(f"{server.url}/wall/scene/events?after=0", 1)
        hall = read_events(f"{server.url}/wall/hall/events?after=0", 1)
    finally:
        server.stop()
    assert scene[0]["event"] == "slide" and "Pour la scène" in scene[0]["data"]
    assert hall[0]["event"] == "seq"  # another screen's slide: only the sequence moves on
