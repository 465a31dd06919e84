"""`livewall collect --once` end to end: a real process against loopback servers that speak each
network's format, checked against what those servers hold, through the store itself."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.settings import load_settings
from aggregator.store import Store
from tests.collectors.collector_fakes import FakeServer, Reply, Request
from tests.collectors.test_bluesky import ENV as BLUESKY_ENV
from tests.collectors.test_bluesky import FakeBluesky
from tests.collectors.test_mastodon import FakeMastodon
from tests.collectors.test_youtube import CHANNEL, LIVE, SHORT, UPCOMING, FakeYouTube
from tests.conftest import asgi_client

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
SECRETS = {**BLUESKY_ENV, "MASTODON_B_TOKEN": "tok-b", "YT_KEY": "AIzaSyTest"}
# Mastodon B numbers statuses in its own range: the same post has another id there.
B_FIRST_ID = 113_500_000_000_000_000
LAST_MODIFIED = "Wed, 25 Nov 2026 19:05:00 GMT"


# --- feeds: documents in the real formats, served with validators ----------------------------


@dataclass
class Entry:
    id: str
    title: str
    body: str
    at: datetime
    link: str = ""


def rss(entries: list[Entry]) -> bytes:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
        f'<guid isPermaLink="false">{escape(e.id)}</guid>'
        f"<pubDate>{format_datetime(e.at)}</pubDate>"
        f"<description>{escape(e.body)}</description></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>UMQ — Nouvelles</title><link>https://umq.qc.ca/</link>"
        f"<description>Communiqués</description><language>fr-CA</language>{items}"
        "</channel></rss>"
    ).encode()


def atom(entries: list[Entry]) -> bytes:
    items = "".join(
        f"<entry><title>{escape(e.title)}</title>"
        f'<link rel="alternate" href="{escape(e.link)}"/><id>{escape(e.id)}</id>'
        f"<published>{e.at.isoformat()}</published><updated>{e.at.isoformat()}</updated>"
        f"<author><name>Équipe Assises</name></author>"
        f'<content type="html">{escape(e.body)}</content></entry>'
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="fr"><title>Municipal d\'abord</title><id>tag:municipaldabord.ca,2026:/</id>'
        f"<updated>2026-11-25T16:00:00Z</updated>{items}</feed>"
    ).encode()


@dataclass
class FakeFeeds:
    """An RSS and an Atom feed that answer conditional GETs as a web server does."""

    server: FakeServer
    rss: list[Entry] = field(default_factory=list)
    atom: list[Entry] = field(default_factory=list)
    not_modified: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.server.route("GET", "/nouvelles.rss", self.serve)
        self.server.route("GET", "/atom.xml", self.serve)

    def serve(self, request: Request) -> Reply:
        if request.path == "/atom.xml":
            body, kind = atom(self.atom), "application/atom+xml"
        else:
            body, kind = rss(self.rss), "application/rss+xml"
        etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
        if request.headers.get("if-none-match") == etag:
            self.not_modified[request.path] += 1
            return Reply(304, headers={"ETag": etag, "Last-Modified": LAST_MODIFIED})
        headers = {"Content-Type": f"{kind}; charset=UTF-8", "ETag": etag}
        return Reply(200, body, {**headers, "Last-Modified": LAST_MODIFIED})


def entries(prefix: str, numbers: range) -> list[Entry]:
    start = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    return [
        Entry(
            id=f"https://umq.qc.ca/?p={prefix}{n}",
            title=f"Communiqué {n}",
            body=f"<p>Texte du communiqué {n} sur les Assises.</p>",
            at=start + timedelta(minutes=n),
            link=f"https://umq.qc.ca/{prefix}/{n}",
        )
        for n in numbers
    ]


# --- every network at once -------------------------------------------------------------------


class Networks:
    """Loopback servers for every source type, and the configuration that points at them."""

    def __init__(self) -> None:
        self.servers = {name: FakeServer() for name in ("mq", "ms", "bsky", "feeds", "yt")}
        for server in self.servers.values():
            server.start()
        self.mastodon_a = FakeMastodon(self.servers["mq"])
        self.mastodon_b = FakeMastodon(self.servers["ms"])
        self.bluesky = FakeBluesky(self.servers["bsky"])
        self.feeds = FakeFeeds(self.servers["feeds"])
        self.youtube = FakeYouTube(self.servers["yt"])
        self.b_ids = 0

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def post_on_b(self) -> dict[str, Any]:
        """A status only on server B, by one of its own accounts."""
        status = self.mastodon_b.make(0)
        status["uri"] = f"https://mastodon.social/users/umq/statuses/{self._next_b_id()}"
        status["url"] = status["uri"].replace("/users/umq/statuses/", "/@umq/")
        return self._arrive_on_b(status)

    def share_with_b(self, status: dict[str, Any]) -> dict[str, Any]:
        """A status of server A as server B sees it once federated: same uri, B's own id."""
        return self._arrive_on_b(copy.deepcopy(status))

    def _arrive_on_b(self, status: dict[str, Any]) -> dict[str, Any]:
        # Like a real server, B numbers statuses in the order they reach it.
        status["id"] = self._next_b_id()
        self.mastodon_b.statuses.append(status)
        return status

    def _next_b_id(self) -> str:
        self.b_ids += 1
        return str(B_FIRST_ID + self.b_ids)

    def edit(self, uri: str, content: str) -> None:
        for server in (self.mastodon_a, self.mastodon_b):
            for status in server.statuses:
                if status["uri"] == uri:
                    status.update(content=content, edited_at="2026-11-25T15:00:00.000Z")

    def delete(self, uri: str) -> None:
        for server in (self.mastodon_a, self.mastodon_b):
            server.statuses[:] = [s for s in server.statuses if s["uri"] != uri]

    def expected(self) -> set[tuple[str, str]]:
        """Every (source, external id) the store should hold: the first source to see a post
        owns it, in the configuration's order."""
        found = {("mastodon-qc", s["uri"]) for s in self.mastodon_a.statuses}
        uris = {uri for _, uri in found}
        found |= {("mastodon-social", s["uri"]) for s in self.mastodon_b.statuses}
        found -= {("mastodon-social", uri) for uri in uris}
        found |= {("bluesky", p["uri"]) for p in self.bluesky.posts}
        found |= {("nouvelles", e.id) for e in self.feeds.rss}
        found |= {("ateliers", e.id) for e in self.feeds.atom}
        return found | {("chaine", video) for video in (LIVE, UPCOMING, SHORT)}

    def config(self, path: Path, database_url: str) -> Path:
        mq, ms, bsky, feeds, yt = (self.servers[n] for n in ("mq", "ms", "bsky", "feeds", "yt"))
        path.write_text(
            f"""
[event]
name = "Assises de bout en bout"
hashtags = ["AssisesUMQ"]
# The feeds' fixtures date from the event's first days: the first run reads back to them.
start = 2026-11-24T00:00:00
[storage]
url = "{database_url}"
[moderation]
mode = "pre"
[[sources]]
name = "mastodon-qc"
type = "mastodon"
instance = "{mq.base_url}"
recheck_per_run = 40
[[sources]]
name = "mastodon-social"
type = "mastodon"
instance = "{ms.base_url}"
token_env = "MASTODON_B_TOKEN"
recheck_per_run = 40
[[sources]]
name = "bluesky"
type = "bluesky"
handle = "umq.bsky.social"
app_password_env = "BSKY_APP_PASSWORD"
service = "{bsky.base_url}"
[[sources]]
name = "nouvelles"
type = "feed"
url = "{feeds.url("/nouvelles.rss")}"
[[sources]]
name = "ateliers"
type = "feed"
url = "{feeds.url("/atom.xml")}"
official = true
[[sources]]
name = "chaine"
type = "youtube"
channel_id = "{CHANNEL}"
api_key_env = "YT_KEY"
feeds_url = "{yt.url("/feeds/videos.xml")}"
api_url = "{yt.url("/youtube/v3")}"
[[screens]]
name = "hall"
""",
            encoding="utf-8",
        )
        return path


@pytest.fixture
def networks() -> Iterator[Networks]:
    world = Networks()
    yield world
    world.stop()


@pytest.fixture
def config(networks: Networks, tmp_path: Path, database_url: str) -> Path:
    return networks.config(tmp_path / "event.toml", database_url)


def livewall(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command, with the secrets only in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, **SECRETS, **env},
    )


def collect(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return livewall(config, "collect", "--once", **env)


def stored(database_url: str) -> list[Post]:
    store = Store(database_url)
    try:
        with store.read() as session:
            return list(session.exec(select(Post)))
    finally:
        store.dispose()


def keys(posts: list[Post]) -> list[tuple[str, str]]:
    return sorted((p.source, p.external_id) for p in posts)


def line_of(output: str, source: str) -> str:
    """The line about `source`: a report (`name: …`) or a table row (`name  type  …`)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return next(line for line in lines if line.split()[0].rstrip(":") == source)


def seed(networks: Networks) -> dict[str, Any]:
    """What the servers hold before the first run; the status seen on both Mastodon servers."""
    shared, *_ = networks.mastodon_a.post(3)
    networks.share_with_b(shared)
    networks.post_on_b()
    networks.post_on_b()
    networks.bluesky.post(4)
    networks.feeds.rss = entries("r", range(3))
    networks.feeds.atom = entries("a", range(2))
    return shared


def test_collect_once_holds_exactly_what_the_servers_hold(
    networks: Networks, config: Path, database_url: str
) -> None:
    shared = seed(networks)
    first = collect(config)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "mastodon-qc: 3 new" in first.stdout
    assert "mastodon-social: 2 new" in first.stdout  # the shared status counted once
    assert "chaine: 3 new" in first.stdout
    posts = stored(database_url)
    assert keys(posts) == sorted(networks.expected())
    assert len(posts) == 3 + 2 + 4 + 3 + 2 + 3
    assert [p.source for p in posts if p.dedupe_key == shared["uri"]] == ["mastodon-qc"]
    videos = {p.external_id: p for p in posts if p.source == "chaine"}
    assert all(v.official and v.status == "approved" for v in videos.values())
    assert (videos[LIVE].kind, videos[LIVE].live_state) == ("live", "live")
    assert (videos[UPCOMING].live_state, videos[SHORT].kind) == ("upcoming", "video")
    # Secrets travel only through the environment, and reach the server they are for.
    [*_, last] = networks.servers["ms"].to("/api/v1/timelines/tag/AssisesUMQ")
    assert last.headers["authorization"] == "Bearer tok-b"

    # The world moves on: new posts everywhere, an edit, a deletion, an unchanged Atom feed.
    edited, deleted = shared["uri"], networks.mastodon_a.statuses[1]["uri"]
    networks.edit(edited, "<p>Salle comble, corrigé : 2 100 personnes #AssisesUMQ</p>")
    networks.share_with_b(networks.mastodon_a.post(2)[0])
    networks.delete(deleted)  # after posting: the fake numbers new statuses by count
    networks.post_on_b()
    networks.bluesky.post(2)
    networks.feeds.rss[0].body = "<p>Texte révisé du communiqué.</p>"
    networks.feeds.rss.append(entries("r", range(3, 4))[0])

    second = collect(config)
    assert second.returncode == 0, second.stdout + second.stderr
    assert line_of(second.stdout, "mastodon-qc").startswith(
        "mastodon-qc: 2 new, 1 updated, 1 deleted"
    )
    assert line_of(second.stdout, "nouvelles").startswith("nouvelles: 1 new, 1 updated")
    assert line_of(second.stdout, "ateliers").startswith("ateliers: 0 new, 0 updated")
    assert networks.feeds.not_modified["/atom.xml"] == 1
    posts = stored(database_url)
    expected = networks.expected() | {("mastodon-qc", deleted)}  # kept as a tombstone
    assert keys(posts) == sorted(expected)
    by_key = {(p.source, p.external_id): p for p in posts}
    assert "2 100 personnes" in by_key[("mastodon-qc", edited)].text
    assert by_key[("mastodon-qc", edited)].edited_at is not None
    assert by_key[("mastodon-qc", deleted)].deleted and not by_key[("mastodon-qc", deleted)].visible
    assert "révisé" in by_key[("nouvelles", "https://umq.qc.ca/?p=r0")].text

    third = collect(config)  # nothing new: nothing doubled, nothing brought back
    assert third.returncode == 0, third.stdout + third.stderr
    assert keys(stored(database_url)) == sorted(expected)
    reports = [line for line in third.stdout.splitlines() if not line.startswith("collecting")]
    assert len(reports) == 6 and all(" 0 new, 0 updated, 0 deleted" in line for line in reports)


@pytest.mark.anyio
async def test_a_refused_credential_is_shown_and_the_others_are_collected(
    networks: Networks, config: Path, database_url: str
) -> None:
    seed(networks)
    done = collect(config, BSKY_APP_PASSWORD="wrong-app-password")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert line_of(done.stdout, "bluesky").startswith("bluesky: 0 new")
    assert "error: auth: HTTP 401" in line_of(done.stdout, "bluesky")
    assert "wrong-app-password" not in done.stdout + done.stderr
    posts = stored(database_url)
    assert {p.source for p in posts} == {
        "mastodon-qc",
        "mastodon-social",
        "nouvelles",
        "ateliers",
        "chaine",
    }
    assert len(posts) == 3 + 2 + 3 + 2 + 3

    table = livewall(config, "sources")
    assert table.returncode == 0, table.stderr
    assert "config error" in line_of(table.stdout, "bluesky")
    assert "auth: HTTP 401" in line_of(table.stdout, "bluesky")
    assert "ok" in line_of(table.stdout, "nouvelles").split()

    health = await readyz(config, database_url)
    # A refused credential waits for staff: not ready, and anyone sees which source says so.
    assert health["status"] == "not ready"
    assert health["sources"]["bluesky"] == "config error"
    assert health["sources"]["chaine"] == "ok"
    assert "HTTP 401" not in str(health)  # the error's text is for staff only


async def readyz(config: Path, database_url: str) -> dict[str, Any]:
    """/readyz from the web app of a Livewall built from the same configuration."""
    store = Store(database_url)
    try:
        async with asgi_client(Livewall(load_settings(config), store=store, env=SECRETS)) as client:
            response = await client.get("/readyz")
    finally:
        store.dispose()
    assert response.status_code == 503
    body: dict[str, Any] = response.json()
    return body
