from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from collectors.base import CollectorContext, CollectorError, ErrorKind, SourceState
from collectors.feed import FeedCollector, Options, parse_feed, stable_id
from tests.collectors.collector_fakes import FAST_RETRY, FakeServer, Reply, fixture_bytes

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
# The fixtures' entries are from the event's first two days; collectors run on its second.
EVENT_START = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
RSS = {"Content-Type": "application/rss+xml; charset=UTF-8"}
VALIDATORS = {"ETag": '"5f3a-1c9"', "Last-Modified": "Wed, 25 Nov 2026 19:05:00 GMT"}


def collector(
    server: FakeServer,
    http: httpx.AsyncClient,
    path: str = "/feed/",
    event_start: datetime | None = EVENT_START,
    **options: Any,
) -> FeedCollector:
    context = CollectorContext(
        http=http,
        hashtags=("AssisesUMQ",),
        env={},
        event_start=event_start,
        clock=lambda: NOW,
    )
    return FeedCollector(
        Options(name="presse", url=server.url(path), **options), context, retry=FAST_RETRY
    )


async def error_of(source: FeedCollector) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        await source.collect(SourceState())
    return caught.value


def parse(
    name: str, url: str = "https://umq.qc.ca/feed/"
) -> tuple[list[Any], CollectorError | None]:
    return parse_feed(fixture_bytes(name), {"content-type": "application/xml"}, url, NOW)


def test_rss2_entries() -> None:
    posts, warning = parse("feed_rss2.xml")
    assert warning is None
    opening, speech, undated = posts[0], posts[1], posts[2]
    assert opening.external_id == "https://umq.qc.ca/?p=48211"
    assert opening.title == "Les Assises 2026 s'ouvrent à Québec"
    assert opening.author.name == "Service des communications"
    assert opening.created_at == datetime(2026, 11, 25, 14, 5, tzinfo=UTC)
    assert opening.html and "<strong>2 000</strong>" in opening.html  # content:encoded wins
    assert (opening.kind, opening.language) == ("article", "fr")
    assert [m.url for m in opening.media] == [
        "https://umq.qc.ca/wp-content/uploads/2026/11/ouverture.jpg"
    ]
    [video] = speech.media  # the javascript: enclosure is dropped
    assert (video.type, video.preview_url) == (
        "video",
        "https://umq.qc.ca/wp-content/uploads/2026/11/discours.jpg",
    )
    assert undated.created_at == NOW and len(undated.external_id) == 32


def test_entries_without_id_get_a_stable_one() -> None:
    first, _ = parse("feed_rss2.xml")
    again, _ = parse("feed_rss2.xml")
    assert first[2].external_id == again[2].external_id
    entry = {"link": "https://a.example/1", "title": "T", "published": ""}
    assert stable_id(entry) != stable_id({**entry, "title": "U"})


def test_atom_entries() -> None:
    posts, _ = parse("feed_atom.xml", url="https://municipaldabord.ca/atom.xml")
    welcome, workshop = posts
    assert (
        workshop.url == "https://municipaldabord.ca/ateliers/habitation"
    )  # relative link resolved
    assert workshop.created_at == datetime(2026, 11, 25, 14, tzinfo=UTC)
    assert workshop.edited_at == datetime(2026, 11, 25, 16, 30, tzinfo=UTC)
    assert workshop.html == "<p>Salle 2000-A, <em>14 h</em></p>"
    assert workshop.author.profile_url == "https://municipaldabord.ca/equipe"
    assert welcome.html == "Bienvenue &lt;à tous&gt;"  # plain text is escaped
    assert (
        welcome.created_at == datetime(2026, 11, 24, 13, tzinfo=UTC) and welcome.edited_at is None
    )


def test_rdf_and_rss091() -> None:
    [notice], _ = parse("feed_rdf.xml")
    assert (notice.external_id, notice.author.name) == (
        "https://ville.example.qc.ca/avis/1",
        "Greffe",
    )
    [old], _ = parse_feed(
        fixture_bytes("feed_rss091.xml"), {}, "http://bulletin.example.org/rss", NOW
    )
    assert (
        old.html == "Les maires se réunissent."
        and old.url == "http://bulletin.example.org/rencontre"
    )


def test_a_damaged_feed_gives_its_entries_and_a_warning() -> None:
    posts, warning = parse("feed_broken.xml")
    assert [p.title for p in posts] == ["Premier communiqué", "Second & dernier"]
    assert warning is not None and warning.kind is ErrorKind.BAD_PAYLOAD
    assert "line 13" in warning.message


def test_a_page_that_is_no_feed_is_rejected() -> None:
    with pytest.raises(CollectorError) as caught:
        parse("not_a_feed.html")
    assert caught.value.kind is ErrorKind.BAD_PAYLOAD
    assert "is not an RSS or Atom feed" in caught.value.message


async def test_first_run_then_conditional_get(server: FakeServer, http: httpx.AsyncClient) -> None:
    server.route(
        "GET",
        "/feed/",
        Reply(200, fixture_bytes("feed_rss2.xml"), {**RSS, **VALIDATORS}),
        Reply(304, headers=VALIDATORS),
    )
    source = collector(server, http)
    first = await source.collect(SourceState())
    assert len(first.posts) == 3 and first.error is None
    assert (first.state.etag, first.state.last_modified) == (
        '"5f3a-1c9"',
        "Wed, 25 Nov 2026 19:05:00 GMT",
    )
    second = await source.collect(first.state)
    assert second.not_modified and second.posts == [] and second.state == first.state
    request = server.to("/feed/")[1]
    assert request.headers["if-none-match"] == '"5f3a-1c9"'
    assert request.headers["if-modified-since"] == "Wed, 25 Nov 2026 19:05:00 GMT"


def rss(*items: tuple[str, datetime]) -> str:
    entries = "".join(
        f'<item><title>{guid}</title><guid isPermaLink="false">{guid}</guid>'
        f"<pubDate>{format_datetime(at)}</pubDate>"
        "</item>"
        for guid, at in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'


async def test_entries_older_than_the_window_are_never_taken(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    body = rss(
        ("today", NOW - timedelta(hours=2)),
        ("yesterday", NOW - timedelta(hours=23)),
        ("last-week", NOW - timedelta(days=7)),
        ("two-years-ago", NOW - timedelta(days=730)),
    )
    server.route("GET", "/feed/", Reply(200, body, RSS))
    source = collector(server, http, event_start=None)
    first = await source.collect(SourceState())
    assert [p.external_id for p in first.posts] == ["yesterday", "today"]
    again = await source.collect(first.state)  # the window stays where the first run put it
    assert [p.external_id for p in again.posts] == ["yesterday", "today"]
    assert again.state.extra["window_since"] == (NOW - timedelta(hours=24)).isoformat()
    longer = collector(server, http, event_start=None, lookback_hours=24 * 8)
    assert len((await longer.collect(SourceState())).posts) == 3
    since_start = collector(server, http, event_start=NOW - timedelta(days=8))
    assert len((await since_start.collect(SourceState())).posts) == 3


async def test_an_edited_entry_comes_again(server: FakeServer, http: httpx.AsyncClient) -> None:
    atom = fixture_bytes("feed_atom.xml")
    edited = atom.replace(b"2026-11-25T11:30:00-05:00", b"2026-11-25T12:45:00-05:00")
    server.route("GET", "/atom.xml", Reply(200, atom), Reply(200, edited))
    source = collector(server, http, path="/atom.xml")
    first = await source.collect(SourceState())
    second = await source.collect(first.state)
    assert first.posts[1].external_id == second.posts[1].external_id
    assert second.posts[1].edited_at == datetime(2026, 11, 25, 17, 45, tzinfo=UTC)


async def test_max_entries_keeps_the_first_ones(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    items = "".join(
        f"<item><title>n{n}</title><guid>id-{n}</guid><pubDate>Wed, 25 Nov 2026 10:{n:02d}:00 GMT</pubDate></item>"
        for n in range(59, -1, -1)
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )
    server.route("GET", "/feed/", Reply(200, body, RSS))
    result = await collector(server, http, max_entries=50).collect(SourceState())
    assert [p.title for p in result.posts] == [f"n{n}" for n in range(10, 60)]


async def test_redirect_is_followed_and_links_resolve_there(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    server.route("GET", "/old", Reply(301, headers={"Location": server.url("/new/atom.xml")}))
    server.route("GET", "/new/atom.xml", Reply(200, fixture_bytes("feed_atom.xml")))
    result = await collector(server, http, path="/old").collect(SourceState())
    assert result.posts[1].url == server.url("/ateliers/habitation")


async def test_damaged_feed_is_a_partial_error(server: FakeServer, http: httpx.AsyncClient) -> None:
    server.route("GET", "/feed/", Reply(200, fixture_bytes("feed_broken.xml"), RSS))
    result = await collector(server, http).collect(SourceState())
    assert len(result.posts) == 2
    assert result.error is not None and "line 13" in result.error.message


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (
            Reply(200, fixture_bytes("not_a_feed.html"), {"Content-Type": "text/html"}),
            ErrorKind.BAD_PAYLOAD,
        ),
        (Reply(200, fixture_bytes("feed_rss2.xml"), RSS, truncate=500), ErrorKind.REFUSED),
        (
            Reply(401, "Authorization Required", {"WWW-Authenticate": 'Basic realm="x"'}),
            ErrorKind.AUTH,
        ),
        (Reply(404, "Not Found"), ErrorKind.HTTP_4XX),
        (Reply(429, "Slow down", {"Retry-After": "120"}), ErrorKind.RATE_LIMITED),
        (Reply(500, "Internal Server Error"), ErrorKind.HTTP_5XX),
    ],
)
async def test_failures(
    server: FakeServer, http: httpx.AsyncClient, reply: Reply, kind: ErrorKind
) -> None:
    server.route("GET", "/feed/", reply)
    error = await error_of(collector(server, http))
    assert error.kind is kind
    if kind is ErrorKind.RATE_LIMITED:
        assert error.retry_after == 120


async def test_read_timeout(server: FakeServer, impatient_http: httpx.AsyncClient) -> None:
    server.route("GET", "/feed/", Reply(200, fixture_bytes("feed_rss2.xml"), RSS, delay=0.6))
    assert (await error_of(collector(server, impatient_http))).kind is ErrorKind.TIMEOUT


def test_options_are_documented() -> None:
    for name, field in Options.model_fields.items():
        assert field.description, name
