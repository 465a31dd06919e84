"""An edit after approval, through every way an edit arrives (webhook, Mastodon polling,
Mastodon streaming, Bluesky), in both moderation modes: what the screens and the public API
show is always a version that was approved."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.moderation.decisions import decide
from aggregator.store import Store
from aggregator.streams import Backoff, StreamRunner
from collectors.webhook import sign
from tests.aggregator.test_streams import StreamingMastodon, mastodon  # noqa: F401 (fixture)
from tests.collectors.collector_fakes import FakeServer
from tests.collectors.test_bluesky import ENV as BLUESKY_ENV
from tests.collectors.test_bluesky import FakeBluesky
from tests.conftest import SettingsFactory, asgi_client

pytestmark = pytest.mark.anyio
SECRET = "s3cret-de-test"
FIRST = "Fière de représenter notre ville aux #AssisesUMQ"
INSULT = "Fière de représenter notre ville, quel connard ce maire #AssisesUMQ"
CLEAN = "Fière de représenter notre ville aux #AssisesUMQ (photo ajoutée)"
MODES = ["pre", "post"]


def settings_for(make_settings: SettingsFactory, mode: str, source: dict[str, Any]) -> Any:
    moderation = {"mode": mode, "blocked_words": {"fr": "blocked-words/fr.txt"}}
    return make_settings(moderation=moderation, sources=[source])


def stored(store: Store) -> Post:
    with store.read() as session:
        return session.exec(select(Post)).one()


async def shown(client: httpx.AsyncClient) -> list[str]:
    """What the public API (and so every screen) may show."""
    return [p["text"] for p in (await client.get("/api/posts")).json()["posts"]]


def approve_if_held(store: Store) -> None:
    post = stored(store)
    if post.status == "pending":
        assert post.id is not None
        decide(store, post.id, "approve", "marie")


async def check_edits(
    client: httpx.AsyncClient, store: Store, mode: str, send: Callable[[str], Awaitable[None]]
) -> None:
    """The scenario every path goes through: approve, insult, clean edit, approval."""
    await send(FIRST)
    approve_if_held(store)
    assert await shown(client) == [FIRST]

    await send(INSULT)  # a rule holds it in both modes: the approved words stay
    assert await shown(client) == [FIRST]
    post = stored(store)
    assert (post.status, post.text) == ("approved", FIRST)
    assert post.pending_edit is not None and post.pending_edit["values"]["text"] == INSULT

    await send(CLEAN)
    if mode == "pre":  # a moderator must read it first
        assert await shown(client) == [FIRST]
        post = stored(store)
        assert post.id is not None
        decide(store, post.id, "approve", "marie", expected_status="approved")
    assert await shown(client) == [CLEAN]


async def until(check: Callable[[], bool], within: float = 5) -> None:
    with anyio.fail_after(within):
        while not await anyio.to_thread.run_sync(check):
            await anyio.sleep(0.02)


@pytest.mark.parametrize("mode", MODES)
async def test_webhook_edits(make_settings: SettingsFactory, store: Store, mode: str) -> None:
    source = {"name": "relais", "type": "webhook", "secret_env": "HOOK_SECRET"}
    app = Livewall(
        settings_for(make_settings, mode, source), store=store, env={"HOOK_SECRET": SECRET}
    )
    async with asgi_client(app) as client:

        async def send(text: str) -> None:
            body = json.dumps(
                {"id": "li-42", "author": {"handle": "marie-gagnon", "name": "Marie Gagnon"},
                 "text": text, "created_at": "2026-11-25T14:05:00-05:00", "network": "linkedin"}
            ).encode()  # fmt: skip
            headers = {"X-Livewall-Signature": sign(SECRET.encode(), body, int(time.time()))}
            answer = await client.post("/hooks/relais", content=body, headers=headers)
            assert answer.status_code in (200, 202), answer.text

        await check_edits(client, store, mode, send)


@pytest.mark.parametrize("mode", MODES)
async def test_mastodon_polling_edits(
    make_settings: SettingsFactory,
    store: Store,
    mastodon: StreamingMastodon,  # noqa: F811  (fixture)
    mode: str,
) -> None:
    source = {"name": "mq", "type": "mastodon", "instance": mastodon.server.base_url,
              "recheck_per_run": 5, "every": 3600}  # fmt: skip
    app = Livewall(settings_for(make_settings, mode, source), store=store, env={})
    [status] = mastodon.post(1, content=f"<p>{FIRST}</p>")

    async def send(text: str) -> None:
        if text != FIRST:  # an edit, as Mastodon serves it from then on
            status.update(
                content=f"<p>{text}</p>", edited_at=f"2026-11-25T15:0{len(text) % 10}:00Z"
            )
        report = await app.harvest.run_source("mq")
        assert report.error is None

    async with asgi_client(app) as client:
        await check_edits(client, store, mode, send)
    await app.aclose()


@asynccontextmanager
async def streaming(app: Livewall, fake: StreamingMastodon) -> AsyncIterator[StreamRunner]:
    runner = StreamRunner(app.harvest, backoff=Backoff(first=0.05, longest=0.2, healthy_after=60))
    await runner.start()
    try:
        await until(lambda: bool(fake.connections))
        yield runner
    finally:
        await runner.stop()
        await app.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_mastodon_streaming_edits(
    make_settings: SettingsFactory,
    store: Store,
    mastodon: StreamingMastodon,  # noqa: F811  (fixture)
    mode: str,
) -> None:
    source = {"name": "mq", "type": "mastodon", "instance": mastodon.server.base_url,
              "token_env": "MQ_TOKEN", "streaming": True, "every": 3600, "recheck_per_run": 0}  # fmt: skip
    app = Livewall(settings_for(make_settings, mode, source), store=store, env={"MQ_TOKEN": "t"})
    status = mastodon.make(0)

    async def send(text: str) -> None:
        event = "update" if text == FIRST else "status.update"
        edited_at = None if text == FIRST else f"2026-11-25T15:0{len(text) % 10}:00Z"
        status.update(content=f"<p>{text}</p>", edited_at=edited_at)
        mastodon.connections[0].push(event, status)
        await until(lambda: _received(store, text))

    async with streaming(app, mastodon), asgi_client(app) as client:
        await check_edits(client, store, mode, send)


def _received(store: Store, text: str) -> bool:
    with store.read() as session:
        post = session.exec(select(Post)).first()
    if post is None:
        return False
    waiting = (post.pending_edit or {}).get("values", {}).get("text")
    return text in (post.text, waiting)


@pytest.fixture
def bluesky_server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("mode", MODES)
async def test_bluesky_edits(
    make_settings: SettingsFactory, store: Store, bluesky_server: FakeServer, mode: str
) -> None:
    bluesky = FakeBluesky(bluesky_server)
    source = {"name": "bsky", "type": "bluesky", "handle": "umq.bsky.social",
              "app_password_env": "BSKY_APP_PASSWORD", "service": bluesky_server.base_url,
              "every": 3600}  # fmt: skip
    app = Livewall(settings_for(make_settings, mode, source), store=store, env=BLUESKY_ENV)
    [post] = bluesky.post(1, at=datetime.now(UTC) - timedelta(minutes=1))

    async def send(text: str) -> None:
        # A record rewritten in place (a new cid): the search finds it again in its overlap.
        if text != FIRST:
            post.update(cid=f"bafyrei{len(text)}edit")
        post["record"].update(text=text, facets=[])
        report = await app.harvest.run_source("bsky")
        assert report.error is None

    async with asgi_client(app) as client:
        await check_edits(client, store, mode, send)
    await app.aclose()
