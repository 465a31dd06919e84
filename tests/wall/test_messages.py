"""Staff messages: the JSON API, its token, and what each screen's stream receives."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image

from aggregator import accounts, messages
from aggregator.application import Livewall
from aggregator.settings import Settings
from aggregator.store import Store
from tests.conftest import LiveServer
from tests.wall.test_screens import read_events
from tests.wall.wall_data import asgi_client
from wall.staff_images import StaffImages

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCREENS = [{"name": "hall", "layout": "grid"}, {"name": "scene", "layout": "spotlight"}]


@pytest.fixture
def staff_app(make_settings: Callable[..., Settings], store: Store, tmp_path: Path) -> Livewall:
    env = {"LIVEWALL_API_TOKEN": TOKEN, "LIVEWALL_MEDIA_DIR": str(tmp_path / "media")}
    return Livewall(make_settings(screens=SCREENS), store=store, env=env)


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


async def test_without_a_server_token_only_admin_created_tokens_open_the_api(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    response = await web.post("/api/screens/messages", headers=AUTH, json={"text": "x"})
    assert response.status_code == 401
    assert "API token an admin created" in response.json()["error"]
    assert "LIVEWALL_API_TOKEN" in response.json()["error"]
    secret = accounts.create_token(livewall.store, "affiches", "moderator", "ada")
    headers = {"Authorization": f"Bearer {secret}"}
    sent = await web.post(
        "/api/screens/messages", headers=headers, json={"text": "Pause", "minutes": 5}
    )
    assert sent.status_code == 201 and sent.json()["created_by"] == "token:affiches"
    assert (await web.get("/api/screens", headers=headers)).status_code == 200
    assert (await web.delete("/api/screens/emergency", headers=headers)).status_code == 200
    token = accounts.list_tokens(livewall.store)[0]
    accounts.revoke_token(livewall.store, token.id or 0, "ada")
    assert (await web.get("/api/screens", headers=headers)).status_code == 401
    assert (await web.get("/api/screens/messages", headers=headers)).status_code == 401


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


def jpeg(size: tuple[int, int] = (2400, 1200)) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


async def test_an_announcement_with_an_image_through_the_api(
    api: httpx.AsyncClient, staff_app: Livewall
) -> None:
    sent = await api.post(
        "/api/screens/messages",
        headers=AUTH,
        data={"text": "Dîner au niveau 4", "minutes": "15", "screens": ["hall", "scene"]},
        files={"image": ("menu.jpg", jpeg(), "image/jpeg")},
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["screens"] == ["hall", "scene"] and body["image"].startswith("/media/staff/")
    served = await api.get(body["image"])
    assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (1600, 800)
    listed = (await api.get("/api/screens/messages", headers=AUTH)).json()
    assert listed["active"][0]["image"] == body["image"]


@pytest.mark.parametrize(
    ("data", "upload", "status", "problem"),
    [
        ({"text": "Logo", "minutes": "5"}, ("l.svg", b"<svg/>", "image/svg+xml"), 400, "SVG"),
        ({"text": "Logo", "minutes": "5"}, ("l.jpg", b"GIF89a nope", "image/jpeg"), 400, "JPEG"),
        ({"text": "Gros", "minutes": "5"}, ("l.jpg", b"0" * (8 * 2**20 + 1), "x/y"), 413, "too big"),
        ({"text": "Gros", "minutes": "5"}, ("l.jpg", b"0" * (9 * 2**20), "x/y"), 413, "too big"),
        ({"text": "Feu", "kind": "emergency"}, ("a.jpg", jpeg((20, 20)), "image/jpeg"), 400,
         "emergency message has no image"),
        ({"text": "Pause", "minutes": "cinq"}, None, 400, "whole number"),
    ],
)  # fmt: skip
async def test_bad_images_through_the_api_are_refused_and_nothing_is_stored(
    api: httpx.AsyncClient,
    staff_app: Livewall,
    data: dict[str, str],
    upload: tuple[str, bytes, str] | None,
    status: int,
    problem: str,
) -> None:
    files = {"image": upload} if upload else {"image": ("", b"", "x/y")}
    response = await api.post("/api/screens/messages", headers=AUTH, data=data, files=files)
    assert response.status_code == status and problem in response.json()["error"]
    assert messages.recent(staff_app.store) == []
    folder = StaffImages.of(staff_app).directory
    assert not folder.exists() or list(folder.iterdir()) == []


async def test_json_cannot_carry_an_image(api: httpx.AsyncClient) -> None:
    body = {"text": "x", "minutes": 5, "image": "data:image/png;base64,AAAA"}
    response = await api.post("/api/screens/messages", headers=AUTH, json=body)
    assert response.status_code == 400 and "multipart/form-data" in response.json()["error"]


def test_a_database_before_images_gains_the_column_and_keeps_its_messages(tmp_path: Path) -> None:
    from alembic import command

    from aggregator.store import alembic_config

    old = Store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        command.upgrade(alembic_config(old.engine), "0002_wall")  # the wall as it was
        with old.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO messages (kind, text, screens, created_at, created_by)"
                    " VALUES ('announcement', 'Avant', '[]', '2026-11-25 10:00:00', 'api')"
                )
            )
        assert "0005_message_image" in old.migrate()  # what `upgrade heads` does at start
        [before] = messages.recent(old)
        assert (before.text, before.image) == ("Avant", None)
        command.downgrade(alembic_config(old.engine), "0002_wall")
        assert "image" not in {c["name"] for c in sa.inspect(old.engine).get_columns("messages")}
    finally:
        old.dispose()
