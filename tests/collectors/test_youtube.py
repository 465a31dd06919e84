from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from collectors.base import CollectorContext, CollectorError, ErrorKind, SourceState
from collectors.youtube import Options, YouTubeCollector, live_states, parse_videos
from tests.collectors.collector_fakes import (
    FAST_RETRY,
    FakeServer,
    Reply,
    Request,
    fixture_bytes,
    fixture_json,
)

pytestmark = pytest.mark.anyio
CHANNEL = "UCx3kQ9umqAssises2026xyz"
ATOM = {"Content-Type": "text/xml; charset=UTF-8"}
LIVE = "yt:video:Lv9aX2b3C4d"
UPCOMING = "yt:video:Up5cM6n7O8p"
SHORT = "yt:video:Qe7rT1u2V3w"
# The fixtures' videos are from the event's first day and the day before; collectors run then.
EVENT_DAY = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


class FakeYouTube:
    """YouTube's two feeds (with ETags) and the Data API's videos.list."""

    def __init__(self, server: FakeServer) -> None:
        self.channel = fixture_bytes("youtube_channel.xml")
        self.playlist = fixture_bytes("youtube_live_playlist.xml")
        self.api = Reply(200, fixture_json("youtube_videos_list.json"))
        server.route("GET", "/feeds/videos.xml", self.feed)
        server.route("GET", "/youtube/v3/videos", lambda request: self.api)

    def feed(self, request: Request) -> Reply:
        if request.param("channel_id") == CHANNEL:
            body, etag = self.channel, f'"c{hash(self.channel)}"'
        elif request.param("playlist_id") == "UULV" + CHANNEL[2:]:
            body, etag = self.playlist, f'"p{hash(self.playlist)}"'
        else:
            return Reply(404, "<html>Not Found</html>", {"Content-Type": "text/html"})
        if request.headers.get("if-none-match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, body, {**ATOM, "ETag": etag})


@pytest.fixture
def youtube(server: FakeServer) -> FakeYouTube:
    return FakeYouTube(server)


def collector(
    server: FakeServer, http: httpx.AsyncClient, env: dict[str, str] | None = None, **options: Any
) -> YouTubeCollector:
    settings = {
        "name": "umq-yt",
        "channel_id": CHANNEL,
        "feeds_url": server.url("/feeds/videos.xml"),
        "api_url": server.url("/youtube/v3"),
        **options,
    }
    context = CollectorContext(
        http=http, hashtags=("AssisesUMQ",), env=env or {}, clock=lambda: EVENT_DAY
    )
    return YouTubeCollector(Options(**settings), context, retry=FAST_RETRY)


def with_key(server: FakeServer, http: httpx.AsyncClient, **options: Any) -> YouTubeCollector:
    return collector(server, http, env={"YT_KEY": "AIzaSyTest"}, api_key_env="YT_KEY", **options)


def test_channel_feed_entries() -> None:
    videos = parse_videos(
        fixture_bytes("youtube_channel.xml"),
        ATOM,
        "https://www.youtube.com/feeds/videos.xml",
        "video",
    )
    short, opening = videos
    assert short.external_id == SHORT and short.kind == "video"
    assert short.url == "https://www.youtube.com/watch?v=Qe7rT1u2V3w"
    assert short.title == "Les Assises en 60 secondes"
    assert short.text.startswith("Un résumé des Assises 2026 & de ses temps forts.")
    assert short.likes == 17 and short.live_state is None
    assert (short.author.name, short.author.profile_url) == (
        "UMQ",
        f"https://www.youtube.com/channel/{CHANNEL}",
    )
    [thumbnail] = short.media
    assert (thumbnail.url, thumbnail.width, thumbnail.height) == (
        "https://i1.ytimg.com/vi/Qe7rT1u2V3w/hqdefault.jpg",
        480,
        360,
    )
    assert opening.created_at.isoformat() == "2026-11-25T13:30:04+00:00"


def test_live_states_from_videos_list() -> None:
    payload = fixture_json("youtube_videos_list.json")
    assert live_states(payload) == {"Lv9aX2b3C4d": "live", "Up5cM6n7O8p": "upcoming"}
    payload["items"][0]["liveStreamingDetails"]["actualEndTime"] = "2026-11-25T16:00:00Z"
    assert live_states(payload)["Lv9aX2b3C4d"] == "ended"


def test_channel_id_must_be_an_id() -> None:
    with pytest.raises(ValidationError, match="start with UC"):
        Options(name="yt", channel_id="@umq")
    assert Options(name="yt", channel_id=CHANNEL).official is True
    for name, field in Options.model_fields.items():
        assert field.description, name


async def test_without_a_key_streams_are_upcoming(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    result = await collector(server, http).collect(SourceState())
    kinds = {p.external_id: (p.kind, p.live_state) for p in result.posts}
    assert kinds == {
        SHORT: ("video", None),
        LIVE: ("live", "upcoming"),
        UPCOMING: ("live", "upcoming"),
    }
    assert server.to("/youtube/v3/videos") == []


async def test_videos_before_the_window_are_left_out_but_not_a_stream_still_to_come(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    # Everything in the feeds was published before 14:00, the start of a one-hour window.
    assert (await collector(server, http, lookback_hours=1).collect(SourceState())).posts == []
    ended = fixture_json("youtube_videos_list.json")
    ended["items"][0]["liveStreamingDetails"]["actualEndTime"] = "2026-11-25T14:30:00Z"
    youtube.api = Reply(200, ended)
    result = await with_key(server, http, lookback_hours=1).collect(SourceState())
    assert {p.external_id: p.live_state for p in result.posts} == {UPCOMING: "upcoming"}


async def test_first_run_asks_the_api_once(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    result = await with_key(server, http).collect(SourceState())
    states = {p.external_id: p.live_state for p in result.posts if p.kind == "live"}
    assert states == {LIVE: "live", UPCOMING: "upcoming"}
    [call] = server.to("/youtube/v3/videos")
    assert call.param("part") == "liveStreamingDetails,snippet"
    assert sorted(str(call.param("id")).split(",")) == ["Lv9aX2b3C4d", "Up5cM6n7O8p"]
    assert call.headers["x-goog-api-key"] == "AIzaSyTest" and "key" not in call.query


async def test_next_run_is_conditional_and_does_not_spend_quota(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    source = with_key(server, http)
    first = await source.collect(SourceState())
    second = await source.collect(first.state)
    assert second.not_modified and second.posts == []
    assert len(server.to("/youtube/v3/videos")) == 1
    assert all("if-none-match" in r.headers for r in server.to("/feeds/videos.xml")[2:])


async def test_a_new_upload_and_a_stream_that_ended(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    source = with_key(server, http)
    first = await source.collect(SourceState())
    youtube.channel = youtube.channel.replace(
        b"Les Assises en 60 secondes", b"Les Assises en 90 secondes"
    )
    ended = fixture_json("youtube_videos_list.json")
    ended["items"][0]["liveStreamingDetails"]["actualEndTime"] = "2026-11-25T16:00:00Z"
    youtube.api = Reply(200, ended)
    state = first.state
    state.extra["live_checked_at"] -= 301  # the check interval has passed
    second = await source.collect(state)
    titles = {p.external_id: (p.title, p.live_state) for p in second.posts}
    assert titles[SHORT] == ("Les Assises en 90 secondes", None)
    assert titles[LIVE][1] == "ended"


async def test_quota_exceeded_keeps_the_feed_items(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    youtube.api = Reply(403, fixture_json("youtube_quota_exceeded.json"))
    source = with_key(server, http)
    result = await source.collect(SourceState())
    assert len(result.posts) == 3
    assert result.error is not None and result.error.kind is ErrorKind.RATE_LIMITED
    assert result.error.retry_after == 3600
    youtube.channel += b" "  # a new body, so the feeds are read again
    state = result.state
    state.extra.pop("live_etag")
    await source.collect(state)
    assert len(server.to("/youtube/v3/videos")) == 1  # paused, not hammered


async def test_a_refused_key_is_an_auth_error_with_the_feed_items(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    invalid = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "errors": [
                {
                    "message": "API key not valid. Please pass a valid API key.",
                    "domain": "global",
                    "reason": "badRequest",
                }
            ],
            "status": "INVALID_ARGUMENT",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
            ],
        }
    }
    youtube.api = Reply(400, invalid)
    result = await with_key(server, http).collect(SourceState())
    assert result.error is not None and result.error.kind is ErrorKind.AUTH
    assert "YT_KEY" in result.error.message and "AIzaSyTest" not in result.error.message
    assert len(result.posts) == 3


async def test_missing_key_variable(
    server: FakeServer, youtube: FakeYouTube, http: httpx.AsyncClient
) -> None:
    result = await collector(server, http, api_key_env="YT_KEY").collect(SourceState())
    assert result.error is not None and result.error.kind is ErrorKind.CONFIG


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(500, "<html>Error</html>"), ErrorKind.HTTP_5XX),
        (Reply(429, "Too Many Requests", {"Retry-After": "30"}), ErrorKind.RATE_LIMITED),
        (Reply(404, "<html>Not Found</html>"), ErrorKind.HTTP_4XX),
        (Reply(200, fixture_bytes("youtube_channel.xml"), ATOM, truncate=700), ErrorKind.REFUSED),
        (
            Reply(
                200, b"<html><body>consent.youtube.com</body></html>", {"Content-Type": "text/html"}
            ),
            ErrorKind.BAD_PAYLOAD,
        ),
    ],
)
async def test_feed_failures(
    server: FakeServer, http: httpx.AsyncClient, reply: Reply, kind: ErrorKind
) -> None:
    server.route("GET", "/feeds/videos.xml", reply)
    with pytest.raises(CollectorError) as caught:
        await collector(server, http).collect(SourceState())
    assert caught.value.kind is kind


async def test_read_timeout(
    server: FakeServer, youtube: FakeYouTube, impatient_http: httpx.AsyncClient
) -> None:
    server.route("GET", "/feeds/videos.xml", Reply(200, youtube.channel, ATOM, delay=0.6))
    with pytest.raises(CollectorError) as caught:
        await collector(server, impatient_http).collect(SourceState())
    assert caught.value.kind is ErrorKind.TIMEOUT
