"""/metrics: the values move with the work (webhook posts, screen streams, a decision, a failing
source, a digest run), read back over HTTP from a real server; and only allowed readers read."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aggregator.application import Livewall
from aggregator.store import Store
from collectors.webhook import sign
from tests.conftest import LiveServer, SettingsFactory, asgi_client
from tests.wall.console.conftest import add_staff, login
from wall.app import create_app

pytestmark = pytest.mark.anyio
SECRET = "secret-du-relais"
TOKEN = "jeton-des-metriques"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a scrape, None when it is absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return None


@pytest.fixture
def watched(make_settings: SettingsFactory, store: Store) -> Livewall:
    settings = make_settings(
        sources=[
            {"name": "relais", "type": "webhook", "secret_env": "HOOK_SECRET"},
            # Nothing listens on port 9 of loopback: every run fails, refused.
            {"name": "coupee", "type": "feed", "url": "http://127.0.0.1:9/feed.xml"},
        ],
    )
    return Livewall(settings, store=store, env={"HOOK_SECRET": SECRET, "METRICS": TOKEN})


@pytest.fixture
def server(watched: Livewall) -> Iterator[LiveServer]:
    running = LiveServer(watched).start()
    yield running
    running.stop()


async def push(client: httpx.AsyncClient, number: int) -> int:
    body = json.dumps(
        {
            "id": f"x-{number}",
            "author": {"handle": f"@membre{number}"},
            "text": f"Message {number} des #AssisesUMQ",
            "created_at": "2026-11-25T14:05:00-05:00",
        }
    ).encode()
    signature = sign(SECRET.encode(), body, int(time.time()))
    answer = await client.post(
        "/hooks/relais", content=body, headers={"X-Livewall-Signature": signature}
    )
    assert answer.status_code == 202, answer.text
    return int(answer.json()["id"])


async def open_stream(client: httpx.AsyncClient, seen: list[str], ready: anyio.Event) -> None:
    async with client.stream("GET", "/wall/hall/events") as response:
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                seen.append(line.removeprefix("event: "))
                if seen[-1] == "hello":
                    ready.set()
                if seen[-1] == "post":
                    return


async def test_the_values_move_with_the_work(watched: Livewall, server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        ids = [await push(client, n) for n in range(3)]
        before = (await client.get("/metrics")).text
        assert sample(before, "livewall_screen_streams_open") == 0
        seen: list[list[str]] = [[], []]
        async with anyio.create_task_group() as streams:
            for events in seen:
                ready = anyio.Event()
                streams.start_soon(open_stream, client, events, ready)
                await ready.wait()
            during = (await client.get("/metrics")).text
            assert sample(during, "livewall_screen_streams_open") == 2
            add_staff(watched, "marie")
            csrf = await login(client, "marie")
            body = {"action": "approve", "posts": [{"id": ids[0], "status": "pending"}]}
            answer = await client.post(
                "/console/api/decide", json=body, headers={"X-CSRF-Token": csrf}
            )
            assert answer.status_code == 200, answer.text
        await watched.harvest.run_source("coupee")
        watched.digest.run(date(2026, 11, 25))  # the approved post's day
        watched.digest.run(watched.digest.today())  # a day without any
        after = (await client.get("/metrics")).text

    assert seen == [["hello", "post"], ["hello", "post"]]
    assert sample(after, "livewall_screen_streams_open") == 0
    assert sample(after, "livewall_screen_events_sent_total", event="post") == 2
    assert sample(after, "livewall_screen_events_sent_total", event="hello") == 2
    new = {"source": "relais", "outcome": "new", "status": "pending"}
    assert sample(after, "livewall_posts_ingested_total", **new) == 3
    assert sample(after, "livewall_ingest_duration_seconds_count", source="relais") == 3
    decided = "livewall_decision_publish_duration_seconds_count"
    assert sample(before, decided, action="approve") is None
    assert sample(after, decided, action="approve") == 1
    assert sample(after, "livewall_source_errors_total", source="coupee", kind="refused") == 1
    assert sample(after, "livewall_source_consecutive_errors", source="coupee") == 1
    assert sample(after, "livewall_source_consecutive_errors", source="relais") == 0
    pushed_at = sample(after, "livewall_source_last_success_timestamp_seconds", source="relais")
    assert pushed_at is not None and abs(pushed_at - time.time()) < 3600
    assert sample(after, "livewall_source_last_success_timestamp_seconds", source="coupee") is None
    assert sample(after, "livewall_digest_runs_total", result="published") == 1
    assert sample(after, "livewall_digest_runs_total", result="nothing") == 1


@contextlib.asynccontextmanager
async def client_at(livewall: Livewall, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """The web app as a client at `address` reaches it (the address a proxy reports)."""
    app = create_app(livewall)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_only_allowed_networks_or_the_token_read_them(
    livewall: Livewall, web: httpx.AsyncClient
) -> None:
    async with client_at(livewall, "203.0.113.9") as from_outside:
        refused = await from_outside.get("/metrics")
        wrong = await from_outside.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 403 and "[metrics] allow" in refused.text
    assert wrong.status_code == 403
    # The test settings name no token variable: the default one is unset there.
    assert (await web.get("/metrics")).status_code == 200


async def test_the_token_opens_them_from_anywhere(
    make_settings: SettingsFactory, store: Store
) -> None:
    settings = make_settings(metrics={"allow": ["10.0.0.0/8"], "token_env": "METRICS"})
    livewall = Livewall(settings, store=store, env={"METRICS": TOKEN})
    async with client_at(livewall, "10.1.2.3") as lan:
        assert (await lan.get("/metrics")).status_code == 200
    async with asgi_client(livewall) as inside:
        # Loopback is no longer listed: only the token opens it there.
        assert (await inside.get("/metrics")).status_code == 403
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        answer = await inside.get("/metrics", headers=bearer)
        assert answer.status_code == 200 and "livewall_posts_ingested" in answer.text
