"""Mastodon streaming wired into the worker: events stored within a second, polling catching up
after a drop, the polling cursor left alone, and a clean stop."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.models import Post, Source
from aggregator.store import Store
from aggregator.streams import Backoff, StreamRunner
from collectors.base import CollectorError, CollectResult, ErrorKind, SourceState
from collectors.mastodon import status_to_candidate
from tests.collectors.collector_fakes import FakeServer, Reply, Request, fixture_json
from tests.collectors.test_mastodon import FakeMastodon
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.anyio
QUICK = Backoff(first=0.05, longest=0.2, healthy_after=60)
STREAM_PATH = "/api/v1/streaming/hashtag"


class LiveStream(list[tuple[float, bytes]]):
    """One open SSE connection of the fake server: events are pushed while it is open."""

    def __init__(self) -> None:
        super().__init__()
        self.events: queue.Queue[bytes | None] = queue.Queue()

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        yield 0, b":)\n"
        while True:
            try:
                data = self.events.get(timeout=0.2)
            except queue.Empty:
                yield 0, b":thump\n"  # Mastodon's heartbeat; lets the server notice a stop
                continue
            if data is None:
                return  # the connection closes: the stream drops
            yield 0, data

    def push(self, event: str, payload: Any) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.events.put(f"event: {event}\ndata: {data}\n\n".encode())

    def drop(self) -> None:
        self.events.put(None)


class StreamingMastodon(FakeMastodon):
    """FakeMastodon plus the instance document and the hashtag stream, one LiveStream each."""

    def __init__(self, server: FakeServer) -> None:
        super().__init__(server)
        self.connections: list[LiveStream] = []
        self.refusing: int | None = None
        instance = fixture_json("mastodon_instance_v2.json")
        instance["configuration"]["urls"]["streaming"] = server.base_url.replace("http", "ws")
        server.route("GET", "/api/v2/instance", Reply(200, instance))
        server.route("GET", STREAM_PATH, self.stream)

    def stream(self, request: Request) -> Reply:
        if self.refusing is not None:
            return Reply(self.refusing, {"error": "unavailable"})
        live = LiveStream()
        self.connections.append(live)
        return Reply(200, headers={"Content-Type": "text/event-stream"}, chunks=live)

    def close_all(self) -> None:
        for live in self.connections:
            live.drop()


@pytest.fixture
def mastodon() -> Iterator[StreamingMastodon]:
    server = FakeServer()
    server.start()
    fake = StreamingMastodon(server)
    yield fake
    fake.close_all()  # open streams would hold the server's threads
    server.stop()


@pytest.fixture
def streaming(
    make_settings: SettingsFactory, store: Store, mastodon: StreamingMastodon
) -> Livewall:
    source = {
        "name": "mq",
        "type": "mastodon",
        "instance": mastodon.server.base_url,
        "token_env": "MQ_TOKEN",
        "streaming": True,
        "every": 3600,  # polling on its schedule would not run during the test
        "recheck_per_run": 0,
    }
    settings = make_settings(moderation={"mode": "post"}, sources=[source])
    return Livewall(settings, store=store, env={"MQ_TOKEN": "tok"})


@pytest.fixture
async def runner(streaming: Livewall) -> AsyncIterator[StreamRunner]:
    runner = StreamRunner(streaming.harvest, backoff=QUICK)
    yield runner
    await runner.stop()
    await streaming.aclose()


async def eventually(check: Callable[[], bool], within: float) -> float:
    """Seconds until `check()` held, failing after `within`."""
    started = time.monotonic()
    with anyio.fail_after(within):
        while not await anyio.to_thread.run_sync(check):
            await anyio.sleep(0.02)
    return time.monotonic() - started


def posts(store: Store) -> dict[str, Post]:
    with store.read() as session:
        found = list(session.exec(select(Post)))
    assert len({p.external_id for p in found}) == len(found), "a post was stored twice"
    return {p.external_id: p for p in found}


def source(store: Store) -> Source:
    with store.read() as session:
        found = session.get(Source, "mq")
    assert found is not None
    return found


async def test_a_streamed_post_is_stored_as_it_arrives_without_moving_the_cursor(
    runner: StreamRunner, mastodon: StreamingMastodon, store: Store
) -> None:
    mastodon.post(2)
    await runner.harvest.run_source("mq")  # the first poll sets the cursor
    cursor, due = source(store).cursor, source(store).next_attempt
    await runner.start()
    await eventually(lambda: bool(mastodon.connections), within=3)

    [status] = mastodon.post(1)
    mastodon.connections[0].push("update", status)
    # Polling does not run here (the test calls it): only the stream stores it.
    await eventually(lambda: status["uri"] in posts(store), within=5)
    stored = source(store)
    assert (stored.cursor, stored.next_attempt) == (cursor, due)  # polling's, untouched
    assert posts(store)[status["uri"]].visible

    edited = {**status, "content": "<p>Corrigé</p>", "edited_at": "2026-11-25T15:00:00.000Z"}
    mastodon.connections[0].push("status.update", edited)
    await eventually(lambda: posts(store)[status["uri"]].text == "Corrigé", within=5)
    mastodon.connections[0].push("delete", status["id"])
    await eventually(lambda: posts(store)[status["uri"]].deleted, within=5)

    report = await runner.harvest.run_source("mq")  # polling reads it too: no double
    assert (report.new, len(posts(store))) == (0, 3)
    assert posts(store)[status["uri"]].deleted  # the tombstone holds


async def test_after_a_drop_polling_catches_up_and_the_stream_returns(
    runner: StreamRunner, mastodon: StreamingMastodon, store: Store
) -> None:
    mastodon.post(1)
    await runner.harvest.run_source("mq")
    await runner.start()
    await eventually(lambda: bool(mastodon.connections), within=3)

    # The stream goes down and stays down a while; meanwhile people keep posting.
    mastodon.refusing = 502
    missed = mastodon.post(3)
    mastodon.connections[0].drop()
    await eventually(lambda: {s["uri"] for s in missed} <= set(posts(store)), within=3)
    attempts = len(mastodon.server.to(STREAM_PATH))
    await eventually(lambda: len(mastodon.server.to(STREAM_PATH)) > attempts, within=3)

    mastodon.refusing = None  # back up: the runner reconnects on its own
    await eventually(lambda: len(mastodon.connections) == 2, within=3)
    [status] = mastodon.post(1)
    mastodon.connections[1].push("update", status)
    await eventually(lambda: status["uri"] in posts(store), within=5)
    assert len(posts(store)) == 5


async def test_stop_closes_the_streams_promptly(
    runner: StreamRunner, mastodon: StreamingMastodon
) -> None:
    await runner.start()
    await eventually(lambda: bool(mastodon.connections), within=3)
    # The streams end on the stop signal itself: stop's fallback (cancel after its timeout)
    # would come too late here.
    with anyio.fail_after(10):
        await runner.stop(timeout=60)
    assert runner._task is None


async def test_only_streaming_sources_get_a_stream(
    make_settings: SettingsFactory, store: Store
) -> None:
    polled = {"name": "mq", "type": "mastodon", "instance": "http://127.0.0.1:9"}
    app = Livewall(make_settings(sources=[polled]), store=store, env={})
    runner = StreamRunner(app.harvest)
    await runner.start()
    assert runner.sources() == [] and runner._task is None
    await runner.stop()
    await app.aclose()


def test_backoff_doubles_with_jitter_and_waits_long_on_refusal() -> None:
    backoff = Backoff(first=1, longest=8)
    assert [backoff.delay(n, None, 0.5) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert backoff.delay(3, None, 0.0) == 2 and backoff.delay(3, None, 0.99) == pytest.approx(5.96)
    refused = CollectorError(ErrorKind.AUTH, "HTTP 401")
    assert backoff.delay(1, refused, 0.5) == 3600
    busy = CollectorError(ErrorKind.RATE_LIMITED, "HTTP 429", retry_after=30)
    assert backoff.delay(1, busy, 0.5) == 30


async def test_the_web_app_runs_the_streams_with_the_scheduler(
    streaming: Livewall, mastodon: StreamingMastodon, store: Store
) -> None:
    from wall.app import create_app

    app = create_app(streaming, run_scheduler=True)
    async with app.router.lifespan_context(app):
        await eventually(lambda: bool(mastodon.connections), within=3)
        status = mastodon.make(7)  # on the stream only: polling could not be what stored it
        mastodon.connections[-1].push("update", status)
        await eventually(lambda: status["uri"] in posts(store), within=5)


@pytest.mark.slow
async def test_the_worker_runs_the_streams_and_stops_on_sigterm(
    mastodon: StreamingMastodon, store: Store, database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "event.toml"
    config.write_text(
        f"""
[event]
hashtags = ["AssisesUMQ"]
[storage]
url = "{database_url}"
[[sources]]
name = "mq"
type = "mastodon"
instance = "{mastodon.server.base_url}"
token_env = "MQ_TOKEN"
streaming = true
every = 3600
[[screens]]
name = "hall"
""",
        encoding="utf-8",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "--config", str(config), "worker"],
        env={**os.environ, "MQ_TOKEN": "tok"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        await eventually(lambda: bool(mastodon.connections), within=15)
        status = mastodon.make(7)
        mastodon.connections[-1].push("update", status)
        await eventually(lambda: status["uri"] in posts(store), within=5)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=10)
    assert worker.returncode == 0, out + err
    assert "Traceback" not in err


async def test_a_stream_event_keeps_pollings_health_and_schedule(
    runner: StreamRunner, mastodon: StreamingMastodon, store: Store
) -> None:
    """A live stream must not hide from staff that polling is failing, nor reschedule it."""
    mastodon.server.route("GET", "/api/v1/timelines/tag/AssisesUMQ", Reply(503, "busy"))
    failed = await runner.harvest.run_source("mq")
    assert failed.error and "http_5xx" in failed.error
    before = source(store)
    options = runner.harvest.settings.source("mq")
    candidate = status_to_candidate(mastodon.make(3), "127.0.0.1")
    assert candidate is not None
    # Whatever state the event carries, polling's stored one is not replaced (nor set back).
    result = CollectResult(posts=[candidate], state=SourceState(cursor="0", etag="stale"))
    report = await anyio.to_thread.run_sync(runner.store_result, options, result)
    assert report.new == 1
    after = source(store)
    assert (after.consecutive_errors, after.last_error_kind, after.last_error) == (
        before.consecutive_errors,
        "http_5xx",
        before.last_error,
    )
    assert (after.cursor, after.etag, after.next_attempt) == (
        before.cursor,
        before.etag,
        before.next_attempt,
    )
    assert after.posts_collected == before.posts_collected + 1
