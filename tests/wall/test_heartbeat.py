"""Screens report a heartbeat; staff list them online or offline."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.models import Screen, utcnow
from aggregator.settings import Settings
from aggregator.store import Store
from tests.wall.wall_data import asgi_client

pytestmark = pytest.mark.anyio
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
async def api(
    make_settings: Callable[..., Settings], store: Store
) -> AsyncIterator[httpx.AsyncClient]:
    screens = [{"name": "hall"}, {"name": "scene", "layout": "spotlight"}]
    app = Livewall(make_settings(screens=screens), store=store, env={"LIVEWALL_API_TOKEN": "t"})
    async with asgi_client(app) as client:
        yield client


async def test_heartbeat_is_stored_and_listed(api: httpx.AsyncClient, store: Store) -> None:
    beat = {
        "name": "hall",
        "version": "abc123",
        "last_event_id": 42,
        "viewport": "1920x1080",
        "offline_copy": True,
    }
    assert (await api.post("/api/screens/heartbeat", json=beat)).status_code == 204
    listed = await api.get("/api/screens", headers=AUTH)
    assert listed.status_code == 200
    rows = {row["name"]: row for row in listed.json()["screens"]}
    assert rows["hall"]["online"] and rows["hall"]["last_event_id"] == 42
    assert rows["hall"]["viewport"] == "1920x1080" and rows["hall"]["version"] == "abc123"
    assert rows["hall"]["offline_copy"] is True and rows["scene"]["offline_copy"] is None
    assert not rows["scene"]["online"] and rows["scene"]["last_seen"] is None


async def test_a_silent_screen_is_offline(api: httpx.AsyncClient, store: Store) -> None:
    with store.write() as session:
        session.add(Screen(name="hall", last_seen=utcnow() - timedelta(minutes=5)))
    rows = {r["name"]: r for r in (await api.get("/api/screens", headers=AUTH)).json()["screens"]}
    assert rows["hall"]["online"] is False and rows["hall"]["last_seen"]


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ({"name": "lobby"}, 404, "unknown screen 'lobby'"),
        ({}, 404, "unknown screen None"),
        ({"name": "hall", "last_event_id": "12"}, 400, "last_event_id"),
        ({"name": "hall", "viewport": 1920}, 400, "viewport"),
        ({"name": "hall", "offline_copy": "yes"}, 400, "offline_copy"),
    ],
)
async def test_bad_heartbeats_are_refused(
    api: httpx.AsyncClient, body: dict[str, object], status: int, problem: str
) -> None:
    response = await api.post("/api/screens/heartbeat", json=body)
    assert response.status_code == status and problem in response.json()["error"]


async def test_listing_needs_the_token(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/screens")).status_code == 401
