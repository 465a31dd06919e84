"""Staff messages: the JSON API, its token, and what each screen's stream receives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from aggregator import messages
from aggregator.livewall import Livewall
from aggregator.settings import Settings
from aggregator.store import Store
from tests.conftest import LiveServer
from tests.wall.test_screens import read_events
from tests.wall.wall_data import asgi_client

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCREENS = [{"name": "hall", "layout": "grid"}, {"name": "scene", "layout": "spotlight"}]


@pytest.fixture
def staff_app(make_settings: Callable[..., Settings], store: Store) -> Livewall:
    return Livewall(make_settings(screens=SCREENS), store=store, env={"LIVEWALL_API_TOKEN": TOKEN})


@pytest.fixture
async def api(staff_app: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(staff_app) as client:
        yield client


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
async def test_write_routes_need_the_token(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for method, path in [
        ("POST", "/api/screens/messages"),
        ("GET", "/api/screens/messages"),
        ("DELETE", "/api/screens/messages/1"),
        ("DELETE", "/api/screens/emergency"),
    ]:
        response = await api.request(method, path, headers=headers, json={"text": "x"})
        assert response.status_code == 401, (method, path)
        assert "token" in response.json()["error"]


async def test_api_is_closed_when_no_token_is_configured(web: httpx.AsyncClient) -> None:
    response = await web.post("/api/screens/messages", headers=AUTH, json={"text": "x"})
    assert response.status_code == 401 and "LIVEWALL_API_TOKEN" in response.json()["error"]


async def test_announcement_is_listed_then_cleared(api: httpx.AsyncClient) -> None:
    sent = await api.post(
        "/api/screens/messages",
        headers=AUTH,
        json={"text": "  Le dîner   est servi ", "screens": ["hall"], "minutes": 15},
    )
    assert sent.status_code == 201
    body = sent.json()
    assert body["text"] == "Le dîner est servi" and body["active"] and body["ends_at"]
    listed = (await api.get("/api/screens/messages", headers=AUTH)).json()
    assert [m["id"] for m in listed["active"]] == [body["id"]]
    cleared = await api.delete(f"/api/screens/messages/{body['id']}", headers=AUTH)
    assert cleared.status_code == 200 and not cleared.json()["active"]
    again = await api.delete(f"/api/screens/messages/{body['id']}", headers=AUTH)
    assert again.status_code == 409
    assert (await api.delete("/api/screens/messages/999", headers=AUTH)).status_code == 404
    assert (await api.delete("/api/screens/messages/abc", headers=AUTH)).status_code == 400


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"text": "Pause", "screens": ["hall"]}, "needs 'minutes'"),
        ({"text": "Pause", "minutes": 5, "screens": ["lobby"]}, "unknown screens ['lobby']"),
        ({"text": "", "minutes": 5}, "text is empty"),
        ({"text": "x" * 501, "minutes": 5}, "at most 500"),
        ({"text": "Pause", "minutes": "5"}, "field 'minutes' must be int"),
        ({"text": "Pause", "minutes": 5, "kind": "banner"}, "kind must be"),
        ({"text": "Pause", "minutes": 5000}, "minutes must be between"),
        ([1, 2], "JSON object"),
    ],
)
async def test_bad_messages_are_clear_400s(
    api: httpx.AsyncClient, body: object, problem: str
) -> None:
    response = await api.post("/api/screens/messages", headers=AUTH, json=body)
    assert response.status_code == 400 and problem in response.json()["error"]


async def test_invalid_json_is_a_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/screens/messages", headers=AUTH, content=b"{nope")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]


def test_messages_reach_their_screens_only(staff_app: Livewall, store: Store) -> None:
    server = LiveServer(staff_app).start()
    try:
        start = store.last_seq()
        to_scene = messages.send(store, "Salle pleine", screens=["scene"], minutes=5)
        alarm = messages.send(store, "Évacuez", kind="emergency")
        messages.clear_emergencies(store)
        hall = read_events(f"{server.url}/wall/hall/events?after={start}", 3)
        scene = read_events(f"{server.url}/wall/scene/events?after={start}", 3)
    finally:
        server.stop()
    # The hall skips the scene's message (a bare sequence event keeps its id moving).
    assert [e["event"] for e in hall] == ["seq", "emergency", "emergency"]
    assert [int(e["id"]) for e in hall] == [start + 1, start + 2, start + 3]
    assert [e["event"] for e in scene] == ["message", "emergency", "emergency"]
    shown = json.loads(scene[0]["data"])
    assert shown["id"] == to_scene.id and shown["text"] == "Salle pleine" and shown["active"]
    states = [json.loads(e["data"]) for e in hall[1:]]
    assert [(m["id"], m["active"]) for m in states] == [(alarm.id, True), (alarm.id, False)]


def test_active_messages_expire(store: Store) -> None:
    messages.send(store, "Pause café", minutes=1, screens=["hall"])
    assert [m.text for m in messages.active(store, "hall")] == ["Pause café"]
    assert messages.active(store, "scene") == []
    with store.write() as session:
        for message in session.exec(messages.select(messages.Message)):
            message.ends_at = message.created_at
            session.add(message)
    assert messages.active(store) == []


async def test_screen_page_shows_active_messages_at_first_render(
    api: httpx.AsyncClient, staff_app: Livewall
) -> None:
    messages.send(staff_app.store, "Évacuez", kind="emergency")
    page = await api.get("/wall/scene")
    island = page.text.split('id="wall-state">', 1)[1].split("</script>", 1)[0]
    assert page.status_code == 200
    assert [m["text"] for m in json.loads(island)["messages"]] == ["Évacuez"]
