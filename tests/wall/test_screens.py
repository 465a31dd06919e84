from __future__ import annotations

import threading

import httpx
import pytest
from sqlmodel import select

from aggregator.ingest import Pipeline
from aggregator.livewall import Livewall
from aggregator.models import Post
from aggregator.moderation import decide
from aggregator.rules import Rules
from tests.builders import candidate, result, source
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


def ingest(livewall: Livewall, *ids: str, mode: str = "pre") -> list[int]:
    Pipeline(livewall.store, Rules(mode=mode)).ingest(
        source(), result(*(candidate(i, f"Message {i} des Assises") for i in ids))
    )
    with livewall.store.read() as session:
        return [p.id for p in session.exec(select(Post).order_by(Post.id)) if p.id]  # type: ignore[arg-type]


async def test_screen_page_shows_approved_posts_only(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    pending, approved = ingest(livewall, "a", "b")
    decide(livewall.store, approved, "approve", "marie")
    page = await web.get("/wall/hall")
    assert page.status_code == 200
    assert f'id="post-{approved}"' in page.text and f'id="post-{pending}"' not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_unknown_screen_is_a_clear_404(web: httpx.AsyncClient) -> None:
    page = await web.get("/wall/nowhere")
    assert page.status_code == 404 and "nowhere" in page.text


async def test_screen_list(web: httpx.AsyncClient) -> None:
    page = await web.get("/wall/")
    assert page.status_code == 200 and "/wall/hall" in page.text


def read_events(
    url: str, count: int, headers: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Read `count` events (not pings) from a real SSE stream."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        for line in response.iter_lines():
            if not line:
                if current.get("event") not in (None, "hello"):
                    events.append(current)
                current = {}
                if len(events) == count:
                    break
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                current[name] = (
                    current[name] + "\n" + value if name == "data" and name in current else value
                )
    return events


def test_stream_sends_approval_then_retraction_with_sequence_ids(
    live_server: LiveServer, livewall: Livewall
) -> None:
    (post_id,) = ingest(livewall, "a")
    url = f"{live_server.url}/wall/hall/events?after=0"
    first = decide(livewall.store, post_id, "approve", "marie", publish=livewall.feed.notify)
    (shown,) = read_events(url, 1)
    assert (shown["event"], shown["id"]) == ("post", str(first.seq))
    assert f'id="post-{post_id}"' in shown["data"]
    got: list[list[dict[str, str]]] = []
    reader = threading.Thread(target=lambda: got.append(read_events(f"{url[:-1]}{first.seq}", 1)))
    reader.start()
    second = decide(livewall.store, post_id, "retract", "marie", publish=livewall.feed.notify)
    reader.join(timeout=10)
    assert [(e["event"], e["id"], e["data"]) for e in got[0]] == [
        ("remove", str(second.seq), str(post_id))
    ]


def test_replay_shows_current_state_not_history(
    live_server: LiveServer, livewall: Livewall
) -> None:
    (post_id,) = ingest(livewall, "a")
    decide(livewall.store, post_id, "approve", "marie")
    decide(livewall.store, post_id, "retract", "marie")
    events = read_events(f"{live_server.url}/wall/hall/events?after=0", 2)
    # A screen that missed both never gets the retracted post's card, only removals.
    assert [e["event"] for e in events] == ["remove", "remove"]


def test_last_event_id_resumes_without_gaps_or_repeats(
    live_server: LiveServer, livewall: Livewall
) -> None:
    ids = ingest(livewall, "a", "b", "c")
    seqs = [decide(livewall.store, i, "approve", "marie").seq for i in ids]
    events = read_events(f"{live_server.url}/wall/hall/events", 2, {"Last-Event-ID": str(seqs[0])})
    assert [int(e["id"]) for e in events] == seqs[1:]
    assert all(e["event"] == "post" and "<article" in e["data"] for e in events)
