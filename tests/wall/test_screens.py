from __future__ import annotations

import json
import threading
from typing import Any

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
from tests.wall.wall_data import asgi_client

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


EMBED_SCREENS = [
    {"name": "hall", "layout": "grid"},
    {
        "name": "site",
        "layout": "ticker",
        "embed_origins": ["https://umq.qc.ca", "bad; script-src *"],
    },
    {"name": "scene", "layout": "spotlight", "show_stream": True, "lang": "en"},
]


@pytest.fixture
async def embed_web(make_settings: Any, store: Any) -> Any:
    async with asgi_client(
        Livewall(make_settings(screens=EMBED_SCREENS), store=store, env={})
    ) as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/wall/", "/wall/hall", "/wall/site", "/wall/scene", "/wall/nope"]
)
async def test_every_wall_page_sends_a_strict_policy(
    embed_web: httpx.AsyncClient, path: str
) -> None:
    response = await embed_web.get(path)
    policy = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
    ):
        assert directive in policy, (path, directive)
    assert "unsafe-inline" not in policy and "*" not in policy
    assert 'style="' not in response.text and "<script>" not in response.text


async def test_embeddable_screen_names_its_framers_and_only_those(
    embed_web: httpx.AsyncClient,
) -> None:
    site = await embed_web.get("/wall/site")
    assert "frame-ancestors https://umq.qc.ca;" in site.headers["content-security-policy"] + ";"
    assert "x-frame-options" not in site.headers
    assert "script-src *" not in site.headers["content-security-policy"]
    hall = await embed_web.get("/wall/hall")
    assert "frame-ancestors 'none'" in hall.headers["content-security-policy"]
    assert "frame-src 'none'" in hall.headers["content-security-policy"]  # no stream: no player
    scene = await embed_web.get("/wall/scene")
    assert "frame-src https://www.youtube-nocookie.com" in scene.headers["content-security-policy"]


async def test_language_per_screen_and_by_query(embed_web: httpx.AsyncClient) -> None:
    assert 'lang="en-CA"' in (await embed_web.get("/wall/scene")).text
    assert 'lang="fr-CA"' in (await embed_web.get("/wall/scene?lang=fr")).text
    hall = (await embed_web.get("/wall/hall")).text
    assert 'lang="fr-CA"' in hall and "Suivez le fil" in hall and "<svg" in hall
    assert "Scan to follow" in (await embed_web.get("/wall/hall?lang=en")).text


def test_youtube_embed_accepts_only_youtube_video_ids() -> None:
    from wall.screens import youtube_embed

    assert youtube_embed("https://www.youtube.com/watch?v=abcdefghijk") == (
        "https://www.youtube-nocookie.com/embed/abcdefghijk?autoplay=1&mute=1&playsinline=1&rel=0"
    )
    assert youtube_embed("https://youtu.be/abcdefghijk")
    assert youtube_embed("https://evil.example/watch?v=abcdefghijk") is None
    assert youtube_embed('https://www.youtube.com/watch?v=abc"><script>') is None
    assert youtube_embed(None) is None


def test_live_broadcast_start_and_end_reach_stream_screens(make_settings: Any, store: Any) -> None:
    from tests.wall.test_wall_browser import ingest_one

    app = Livewall(make_settings(screens=EMBED_SCREENS), store=store, env={})
    server = LiveServer(app).start()
    try:
        start = store.last_seq()
        live = dict(
            options=source("umq-youtube", official=True),
            kind="live",
            live_state="live",
            url="https://www.youtube.com/watch?v=abcdefghijk",
            title="Ouverture",
        )
        ingest_one(app, "yt:1", "En direct", **live)
        ingest_one(app, "yt:1", "En direct", **{**live, "live_state": "ended"})
        scene = read_events(f"{server.url}/wall/scene/events?after={start}", 3)
        hall = read_events(f"{server.url}/wall/hall/events?after={start}", 2)
    finally:
        server.stop()
    # A batch of replayed changes ends with the broadcast's state now (ended), never a stale one.
    assert [e["event"] for e in scene] == ["post", "post", "stream"]
    assert json.loads(scene[2]["data"]) == {"live": False}
    assert [e["event"] for e in hall] == ["post", "post"]  # no player on this screen


def test_a_wall_page_weighs_under_200_kb_before_images() -> None:
    import anyio

    from bench.wall_weight import BUDGET, measure

    for layout, sizes in anyio.run(measure, 30).items():
        assert sum(sizes.values()) < BUDGET, (layout, sizes)
