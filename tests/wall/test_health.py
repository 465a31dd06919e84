"""/healthz answers while the process does; /readyz is 503 until the store answers, a
scheduler ticks (here or in a worker, through its heartbeat) and no source is in config error;
error texts only for staff."""

from __future__ import annotations

from datetime import timedelta

import anyio
import httpx
import pytest

from aggregator.application import Livewall
from aggregator.models import Heartbeat, Source, utcnow
from aggregator.readiness import SCHEDULER, Heartbeats
from aggregator.settings import settings_from_mapping
from aggregator.store import Store
from tests.conftest import asgi_client
from tests.wall.console.conftest import add_staff, login
from wall.app import create_app

pytestmark = pytest.mark.anyio


def refused_credential(store: Store) -> None:
    with store.write() as session:
        session.add(
            Source(
                name="demo",
                type="demo",
                consecutive_errors=1,
                last_error_kind="auth",
                last_error="HTTP 401 from https://bsky.example: token refusé",
            )
        )


async def test_healthz_is_alive_without_asking_the_store(web: httpx.AsyncClient) -> None:
    answer = await web.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "alive"}


async def test_not_ready_until_a_scheduler_ticks(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    before = await web.get("/readyz")
    assert before.status_code == 503
    assert before.json() == {
        "status": "not ready",
        "store": "ok",
        "scheduler": "none",
        "sources": {"demo": "never run"},
    }
    Heartbeats(livewall.store).beat()  # a worker elsewhere ticks
    after = await web.get("/readyz")
    assert after.status_code == 200 and after.json()["status"] == "ready"
    assert after.json()["scheduler"] == "ticking"


async def test_a_stalled_worker_is_not_ready(web: httpx.AsyncClient, livewall: Livewall) -> None:
    Heartbeats(livewall.store).beat()
    with livewall.store.write() as session:
        beat = session.get(Heartbeat, SCHEDULER)
        assert beat is not None
        beat.last_tick = utcnow() - timedelta(minutes=5)
        session.add(beat)
    answer = await web.get("/readyz")
    assert answer.status_code == 503 and answer.json()["scheduler"] == "stalled"


async def test_the_all_in_one_process_ticks_itself(livewall: Livewall) -> None:
    async with asgi_client(livewall, run_scheduler=True) as client:
        for _ in range(100):
            answer = await client.get("/readyz")
            if answer.json()["scheduler"] == "ticking":
                break
            await anyio.sleep(0.05)
        assert answer.json()["scheduler"] == "ticking"
    with livewall.store.read() as session:
        assert session.get(Heartbeat, SCHEDULER) is None  # a clean stop leaves none to go stale


async def test_error_texts_are_for_staff_only(web: httpx.AsyncClient, livewall: Livewall) -> None:
    Heartbeats(livewall.store).beat()
    refused_credential(livewall.store)
    anonymous = await web.get("/readyz")
    assert anonymous.status_code == 503
    assert anonymous.json()["sources"] == {"demo": "config error"}
    assert "401" not in anonymous.text and "bsky.example" not in anonymous.text
    add_staff(livewall, "marie")
    await login(web, "marie")
    staff = await web.get("/readyz")
    assert staff.status_code == 503
    assert (
        "source demo: auth: HTTP 401 from https://bsky.example: token refusé"
        in staff.json()["problems"]
    )
    assert staff.json()["source_errors"]["demo"]["error_kind"] == "auth"


async def test_an_unreachable_store_is_not_ready() -> None:
    settings = settings_from_mapping(
        {"storage": {"url": "postgresql+psycopg://nobody@127.0.0.1:9/none"}}
    )
    # No lifespan: the change feed would not start either; the routes still answer.
    transport = httpx.ASGITransport(app=create_app(Livewall(settings, env={})))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        alive = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert alive.status_code == 200
    assert ready.status_code == 503 and ready.json()["store"] == "unreachable"
    assert ready.json()["scheduler"] == "unknown" and "nobody" not in ready.text
