"""Whole numbers from a request: out of range or not numbers, they are a 400 naming the
parameter, never a traceback from a store that cannot hold them."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from aggregator.application import Livewall
from tests.conftest import SettingsFactory, asgi_client
from tests.wall.console.conftest import add_staff, held, login
from wall.params import MAX_ID, BadRequest, whole

pytestmark = pytest.mark.anyio
HUGE = "99999999999999999999"  # past SQLite's 64-bit integers, let alone PostgreSQL's INTEGER
TOKEN = {"Authorization": "Bearer jeton-de-test"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (HUGE, f"must be between 0 and {MAX_ID}, got '{HUGE}'"),
        (str(MAX_ID + 1), "must be between"),
        ("-3", "must be between 0 and"),
        ("1" * 5000, "got '" + "1" * 39 + "…"),
        ("abc", "must be a whole number, got 'abc'"),
        ("²", "must be a whole number"),
        (True, "must be a whole number, got True"),
        (2.5, "must be a whole number, got 2.5"),
        (2**40, "must be between"),
    ],
)
def test_whole_refuses_with_the_reason(raw: object, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        whole(raw, "query parameter 'after'")
    assert caught.value.message.startswith("query parameter 'after' ")
    assert message in caught.value.message


def test_whole_reads_text_and_json_numbers() -> None:
    assert whole(" 42 ", "x") == 42 and whole(MAX_ID, "x") == MAX_ID and whole(0, "x") == 0


@pytest.fixture
async def client(
    make_settings: SettingsFactory, livewall: Livewall
) -> AsyncIterator[httpx.AsyncClient]:
    app = Livewall(
        make_settings(), store=livewall.store, env={"LIVEWALL_API_TOKEN": "jeton-de-test"}
    )
    add_staff(app, "ada", "admin")
    async with asgi_client(app) as client:
        yield client


@pytest.mark.parametrize(
    ("url", "headers", "reason"),
    [
        (f"/wall/hall/events?after={HUGE}", {}, "query parameter 'after' must be between"),
        ("/wall/hall/events", {"Last-Event-ID": HUGE}, "the Last-Event-ID header must be"),
        ("/wall/hall/events?after=demain", {}, "query parameter 'after' must be a whole"),
        (f"/api/posts?before={2**40}", {}, "query parameter 'before' must be between 1 and"),
        (f"/api/posts?limit={HUGE}", {}, "query parameter 'limit' must be between 1 and 200"),
    ],
)
async def test_public_numbers_out_of_range_are_400(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], reason: str
) -> None:
    answer = await client.get(url, headers=headers)
    assert answer.status_code == 400 and reason in html.unescape(answer.text)


async def test_console_numbers_out_of_range_are_400(
    client: httpx.AsyncClient, livewall: Livewall
) -> None:
    csrf = await login(client, "ada")
    for url in (
        f"/console/events?after={HUGE}",
        f"/console/posts/{HUGE}/preview",
        f"/console/audit?post={HUGE}",
        f"/console/audit.csv?post={HUGE}",
    ):
        answer = await client.get(url)
        assert answer.status_code == 400 and "must be between" in answer.text, url
    decide = {"action": "approve", "posts": [{"id": int(HUGE)}]}
    answer = await client.post("/console/api/decide", json=decide, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 400 and "posts[0].id must be between" in answer.json()["error"]
    for path, data in (
        ("/console/messages", {"op": "clear", "id": HUGE}),
        ("/console/rules", {"op": "remove", "id": HUGE}),
        ("/console/rules", {"op": "flood", "accounts": HUGE, "minutes": "5"}),
        ("/console/users", {"op": "revoke", "id": HUGE}),
    ):
        answer = await client.post(path, data={**data, "csrf": csrf})
        error = re.search(r'class="error"[^>]*>([^<]+)<', answer.text)
        assert answer.status_code == 400 and error and "must be between" in error.group(1), path


async def test_api_numbers_out_of_range_are_400(client: httpx.AsyncClient) -> None:
    answer = await client.delete(f"/api/screens/messages/{HUGE}", headers=TOKEN)
    assert answer.status_code == 400 and "the message id must be between" in answer.json()["error"]
    beat = {"name": "hall", "last_event_id": int(HUGE)}
    answer = await client.post("/api/screens/heartbeat", json=beat)
    assert answer.status_code == 400
    assert "field 'last_event_id' must be between" in answer.json()["error"]


async def test_numbers_in_range_still_work(client: httpx.AsyncClient, livewall: Livewall) -> None:
    post_id = held(livewall, 1)[0]
    await login(client, "ada")
    assert (await client.get(f"/console/posts/{post_id}/preview")).status_code == 200
    assert (await client.get(f"/console/posts/{MAX_ID}/preview")).status_code == 404
    assert (await client.get(f"/console/audit?post={post_id}")).status_code == 200
    assert (await client.get("/api/posts?before=5&limit=3")).status_code == 200
