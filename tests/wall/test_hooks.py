"""POST /hooks/{source}: signed, bounded, validated, and durable before the 202."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.store import Store
from collectors.webhook import sign
from tests.conftest import SettingsFactory, asgi_client

pytestmark = pytest.mark.anyio
SECRET = "s3cret-de-test"


@pytest.fixture
async def hooks(make_settings: SettingsFactory, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        sources=[
            {"name": "relais", "type": "webhook", "secret_env": "HOOK_SECRET"},
            {"name": "sans-secret", "type": "webhook", "secret_env": "ABSENT"},
            {"name": "demo", "type": "demo"},
        ],
        moderation={"mode": "post"},
    )
    async with asgi_client(Livewall(settings, store=store, env={"HOOK_SECRET": SECRET})) as client:
        yield client


def payload(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "li-42",
        "url": "https://www.linkedin.com/feed/update/42",
        "author": {
            "handle": "marie-gagnon",
            "name": "Marie Gagnon",
            "url": "https://www.linkedin.com/in/mg",
        },
        "text": "Fière de représenter notre ville aux #AssisesUMQ",
        "created_at": "2026-11-25T14:05:00-05:00",
        "network": "linkedin",
    }
    body.update(fields)
    return body


async def post(
    client: httpx.AsyncClient, body: bytes, signature: str | None = None, source: str = "relais"
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    headers["X-Livewall-Signature"] = signature or sign(SECRET.encode(), body, int(time.time()))
    return await client.post(f"/hooks/{source}", content=body, headers=headers)


async def test_signed_post_is_stored_then_202(hooks: httpx.AsyncClient, store: Store) -> None:
    response = await post(hooks, json.dumps(payload()).encode())
    assert response.status_code == 202
    with store.read() as session:
        stored = session.exec(select(Post)).one()
    assert response.json() == {"id": stored.id, "status": "approved", "outcome": "new"}
    assert (stored.source, stored.external_id, stored.network) == ("relais", "li-42", "linkedin")
    again = await post(hooks, json.dumps(payload()).encode())
    assert again.json()["id"] == stored.id  # a redelivery is the same post
    assert again.json()["outcome"] == "unchanged"


@pytest.mark.parametrize(
    ("signature", "reason"),
    [("t=1,v1=00", "expired"), ("t=abc,v1=00", "timestamp"), ("nothing", "timestamp")],
)
async def test_bad_signatures_are_401(
    hooks: httpx.AsyncClient, signature: str, reason: str
) -> None:
    response = await post(hooks, json.dumps(payload()).encode(), signature)
    assert response.status_code == 401 and reason in response.json()["error"]


async def test_signature_of_another_body_is_401(hooks: httpx.AsyncClient) -> None:
    signature = sign(SECRET.encode(), b"{}", int(time.time()))
    response = await post(hooks, json.dumps(payload()).encode(), signature)
    assert response.status_code == 401 and "does not match" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"[1]", "JSON object"),
        (json.dumps(payload(author=None)).encode(), "'author'"),
        (json.dumps(payload(id="")).encode(), "'id' is required"),
        (json.dumps(payload(created_at="hier")).encode(), "created_at"),
    ],
)
async def test_malformed_bodies_are_400_with_the_field(
    hooks: httpx.AsyncClient, body: bytes, reason: str
) -> None:
    response = await post(hooks, body)
    assert response.status_code == 400 and reason in response.json()["error"]


async def test_over_256_kb_is_413(hooks: httpx.AsyncClient) -> None:
    body = json.dumps(payload(text="x" * 300_000)).encode()
    assert (await post(hooks, body)).status_code == 413


async def test_unknown_or_unconfigured_source(hooks: httpx.AsyncClient) -> None:
    body = json.dumps(payload()).encode()
    assert (await post(hooks, body, source="demo")).status_code == 404
    missing = await post(hooks, body, source="sans-secret")
    assert missing.status_code == 503 and "ABSENT" in missing.json()["error"]


async def test_a_cross_post_answers_200_with_the_post_it_joined(
    hooks: httpx.AsyncClient, store: Store
) -> None:
    """The same person, the same words, pushed again from another network: one post."""
    first = await post(hooks, json.dumps(payload()).encode())
    again = payload(id="x-1", network="x", url="https://x.com/mg/status/1")
    joined = await post(hooks, json.dumps(again).encode())
    assert first.status_code == 202 and joined.status_code == 200
    assert joined.json() == {"id": first.json()["id"], "status": "approved", "outcome": "joined"}
    with store.read() as session:
        assert len(session.exec(select(Post)).all()) == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"created_at": "0001-01-01T00:00:00+14:00"}, "field 'created_at' must be"),
        ({"text": "\ud800"}, "field 'text' contains a lone surrogate (\\ud800)"),
        ({"text": "a\x00b"}, "field 'text' contains a NUL character"),
        ({"extra": [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]}, "nested more than 20 levels"),
        ({"id": "i" * 501}, "field 'id' is 501 characters long, at most 500"),
        ({"network": "linked in"}, "field 'network' must be a plain name"),
        ({"author": {"handle": "mg", "name": "M" * 100_000}}, "field 'author.name' is 100000"),
    ],
)
async def test_hostile_payloads_are_400_naming_the_field(
    hooks: httpx.AsyncClient, store: Store, fields: dict[str, Any], reason: str
) -> None:
    response = await post(hooks, json.dumps(payload(**fields)).encode())
    assert response.status_code == 400 and reason in response.json()["error"]
    with store.read() as session:
        assert session.exec(select(Post)).all() == []


async def test_json_nested_1000_deep_is_400(hooks: httpx.AsyncClient) -> None:
    body = b'{"id": "1", "extra": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    response = await post(hooks, body)
    assert response.status_code == 400 and "nested" in response.json()["error"]


async def test_a_store_locked_by_another_writer_is_503_with_retry_after_never_500(
    make_settings: SettingsFactory, tmp_path: Path, sqlite_template: Path, database_url: str
) -> None:
    # Before: after the busy timeout, "database is locked" reached the sender as a 500.
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's one write lock; PostgreSQL's writers wait their turn")
    path = tmp_path / "busy.db"
    shutil.copy(sqlite_template, path)
    settings = make_settings(
        sources=[{"name": "relais", "type": "webhook", "secret_env": "HOOK_SECRET"}]
    )
    store = Store(f"sqlite:///{path}", busy_timeout=0.5)
    app = Livewall(settings, store=store, env={"HOOK_SECRET": SECRET})
    worker = sqlite3.connect(path, isolation_level=None)  # a saturated worker elsewhere
    try:
        async with asgi_client(app) as client:
            worker.execute("BEGIN IMMEDIATE")  # holds SQLite's one write lock
            refused = await post(client, json.dumps(payload()).encode())
            worker.execute("COMMIT")
            accepted = await post(client, json.dumps(payload()).encode())
    finally:
        worker.close()
        store.dispose()
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5" and "busy" in refused.json()["error"]
    assert accepted.status_code == 202  # the sender's retry goes through once the lock is gone


async def test_twenty_posts_at_the_same_instant_are_each_stored_and_answered(
    hooks: httpx.AsyncClient, store: Store
) -> None:
    bodies = [json.dumps(payload(id=f"li-{n}", text=f"Message {n} #AssisesUMQ")).encode()
              for n in range(20)]  # fmt: skip
    answers = await asyncio.gather(*(post(hooks, body) for body in bodies))
    assert [a.status_code for a in answers] == [202] * 20
    with store.read() as session:
        stored = dict(session.exec(select(Post.external_id, Post.id)).all())
    assert {f"li-{n}": answers[n].json()["id"] for n in range(20)} == stored  # each its own
