"""YouTube: a channel's uploads and live streams from its public Atom feeds, plus the Data API
for whether a stream is live now.

The feeds cost no quota; `videos.list` costs one unit per call and is asked at most once per
`live_check_every` seconds, for up to 50 streams at once. Without an API key every stream from
the live feed shows as upcoming. Videos and streams published before the source's look-back
window are left out, except a stream the Data API says is live or upcoming.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from pydantic import Field, field_validator

from collectors.base import (
    Author,
    Candidate,
    CollectorContext,
    CollectorError,
    CollectResult,
    EnvName,
    ErrorKind,
    LiveState,
    Media,
    Secret,
    SourceState,
)
from collectors.feed import read_feed
from collectors.http import (
    DEFAULT_RETRY,
    BaseUrl,
    RetryPolicy,
    conditional_headers,
    count,
    dimension,
    fetch,
    json_body,
    parse_iso_datetime,
    reading,
    require_env,
    safe_url,
    text,
)
from collectors.window import WindowOptions, window_since, with_window

WATCH = "https://www.youtube.com/watch?v="
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded"})
QUOTA_PAUSE = 3600.0  # the daily quota resets at Pacific midnight: an hour is a fair guess
API_BATCH = 50
CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")


class Options(WindowOptions):
    type: Literal["youtube"] = Field(
        default="youtube", description="Source type: a YouTube channel's videos and live streams."
    )
    channel_id: str = Field(
        description="The channel's id, starting with UC (from the channel page's address or "
        "its 'Share channel → Copy channel ID'); not the @handle."
    )
    api_key_env: EnvName | None = Field(
        default=None,
        description="Name of the environment variable holding a YouTube Data API key, used to "
        "tell whether a stream is live now. Without it, streams show as upcoming.",
    )
    feeds_url: BaseUrl = Field(
        default="https://www.youtube.com/feeds/videos.xml",
        description="Address of YouTube's Atom feeds (changed only for tests or a proxy).",
    )
    api_url: BaseUrl = Field(
        default="https://www.googleapis.com/youtube/v3",
        description="Base address of the YouTube Data API v3 (changed only for tests or a proxy).",
    )
    official: bool = Field(
        default=True,
        strict=True,
        description="Videos from the event's own channel are approved without moderation.",
    )
    every: int = Field(
        default=120,
        ge=5,
        le=86400,
        strict=True,
        description="Seconds between two reads of the feeds.",
    )
    live_check_every: int = Field(
        default=300,
        ge=60,
        le=86400,
        strict=True,
        description="Least seconds between two Data API checks of live streams (each costs quota).",
    )

    @field_validator("channel_id")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        value = value.strip()
        if not CHANNEL_ID.fullmatch(value):
            raise ValueError(
                "must start with UC, then 22 letters, digits, - or _ (a channel id, not the "
                "@handle)"
            )
        return value

    def secrets(self) -> list[Secret]:
        without = "streams show as upcoming, never as live now"
        return [replace(s, without=without) for s in super().secrets()]


# --- mapping, with no I/O ---------------------------------------------------------------------


def parse_videos(
    body: bytes, headers: Any, url: str, kind: Literal["video", "live"]
) -> list[Candidate]:
    """A channel or playlist Atom feed as candidates, oldest first."""
    parsed, _ = read_feed(body, headers, url)
    with reading("YouTube feed"):
        feed = parsed.get("feed") or {}
        posts = [c for e in parsed.get("entries") or [] if (c := video_candidate(e, feed, kind))]
    return sorted(posts, key=lambda p: p.created_at)


def video_candidate(entry: Any, feed: Any, kind: Literal["video", "live"]) -> Candidate | None:
    video_id = text(entry.get("yt_videoid"))
    created = parse_iso_datetime(entry.get("published"))
    if not video_id or created is None:
        return None
    channel = text(entry.get("author")) or text(feed.get("title")) or "YouTube"
    rating = entry.get("media_starrating") or {}
    return Candidate(
        external_id=text(entry.get("id")) or f"yt:video:{video_id}",
        url=WATCH + video_id,
        author=Author(
            handle=channel,
            name=channel,
            profile_url=safe_url((entry.get("author_detail") or {}).get("href")),
        ),
        created_at=created,
        title=text(entry.get("title")) or None,
        text=text(entry.get("summary")),
        media=_thumbnails(entry),
        likes=count(rating.get("count")),
        kind=kind,
        live_state="upcoming" if kind == "live" else None,
        network="youtube",
    )


def _thumbnails(entry: Any) -> list[Media]:
    for thumbnail in entry.get("media_thumbnail") or []:
        url = safe_url(thumbnail.get("url"))
        if url:
            width, height = dimension(thumbnail.get("width")), dimension(thumbnail.get("height"))
            return [Media(url=url, type="image", width=width, height=height)]
    return []


def live_states(payload: Any) -> dict[str, LiveState]:
    """videos.list items as each stream's state: ended, live now, or upcoming."""
    states: dict[str, LiveState] = {}
    with reading("videos.list answer"):
        for item in payload["items"]:
            details = item.get("liveStreamingDetails") or {}
            if details.get("actualEndTime"):
                states[text(item["id"])] = "ended"
            elif details.get("actualStartTime"):
                states[text(item["id"])] = "live"
            else:
                states[text(item["id"])] = "upcoming"
    return states


def api_error(response: httpx.Response, key_env: str) -> CollectorError:
    """A Data API refusal: quota (wait), key (staff must fix it), or anything else."""
    reasons: list[str] = []
    try:
        error = json_body(response)["error"]
        # Older answers name the reason in `errors`, newer ones in `details` (API_KEY_INVALID).
        listed = [*(error.get("errors") or []), *(error.get("details") or [])]
        reasons = [text(e.get("reason")) for e in listed if isinstance(e, dict)]
    except (CollectorError, KeyError, TypeError, AttributeError):
        pass
    where = f"HTTP {response.status_code} from the YouTube Data API"
    if QUOTA_REASONS.intersection(reasons):
        return CollectorError(
            ErrorKind.RATE_LIMITED, f"{where}: the daily quota is used up", QUOTA_PAUSE
        )
    if response.status_code == 403 or {"keyInvalid", "API_KEY_INVALID"}.intersection(reasons):
        return CollectorError(ErrorKind.AUTH, f"{where}: the API key in {key_env} was refused")
    return CollectorError(ErrorKind.HTTP_4XX, f"{where}: {', '.join(reasons) or 'refused'}")


# --- the collector ---------------------------------------------------------------------------


class YouTubeCollector:
    def __init__(
        self, options: Options, context: CollectorContext, retry: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self.options = options
        self.context = context
        self.http = context.http
        self.env = context.env
        self.retry = retry

    async def collect(self, state: SourceState) -> CollectResult:
        since = window_since(state.extra, self.options, self.context)
        extra = with_window(state.extra, since)
        now = time.time()
        check_live = self._live_check_due(extra, now)
        uploads_url = self._feed_url(channel_id=self.options.channel_id)
        live_url = self._feed_url(playlist_id="UULV" + self.options.channel_id[2:])
        uploads = await self._feed(uploads_url, state.etag, state.last_modified)
        # A due check reads the live feed in full, so a changed state has a post to carry it.
        live_etag, live_modified = (
            (None, None)
            if check_live
            else (extra.get("live_etag"), extra.get("live_last_modified"))
        )
        live = await self._feed(live_url, live_etag, live_modified)
        streams = (
            parse_videos(live.content, live.headers, str(live.url), "live")
            if live.status_code == 200
            else []
        )
        error = (
            await self._update_live_states(streams, extra, now) if check_live and streams else None
        )
        videos = (
            parse_videos(uploads.content, uploads.headers, str(uploads.url), "video")
            if uploads.status_code == 200
            else []
        )
        return self._result(state, extra, uploads, live, videos, streams, error)

    def _result(
        self,
        state: SourceState,
        extra: dict[str, Any],
        uploads: httpx.Response,
        live: httpx.Response,
        videos: list[Candidate],
        streams: list[Candidate],
        error: CollectorError | None,
    ) -> CollectResult:
        known: dict[str, LiveState] = extra.get("live_states") or {}
        for stream in streams:
            stream.live_state = known.get(stream.external_id, "upcoming")
        stream_ids = {s.external_id for s in streams}
        since = window_since(extra, self.options, self.context)
        # An old stream the Data API says is live or to come is the event's: keep it.
        current = {i for i, state in known.items() if state != "ended"}
        videos = [v for v in videos if v.created_at >= since]
        streams = [s for s in streams if s.created_at >= since or s.external_id in current]
        extra.update(_validators("live_", live))
        new_state = SourceState(
            state.cursor,
            uploads.headers.get("etag") if uploads.status_code == 200 else state.etag,
            uploads.headers.get("last-modified")
            if uploads.status_code == 200
            else state.last_modified,
            extra,
        )
        return CollectResult(
            posts=[v for v in videos if v.external_id not in stream_ids] + streams,
            state=new_state,
            error=error,
            not_modified=uploads.status_code == 304 and live.status_code == 304,
        )

    def _feed_url(self, **query: str) -> str:
        return f"{self.options.feeds_url}?{urlencode(query)}"

    async def _feed(self, url: str, etag: Any, last_modified: Any) -> httpx.Response:
        headers = conditional_headers(
            etag if isinstance(etag, str) else None,
            last_modified if isinstance(last_modified, str) else None,
        )
        return await fetch(self.http, url, headers=headers, retry=self.retry)

    def _live_check_due(self, extra: dict[str, Any], now: float) -> bool:
        if not self.options.api_key_env:
            return False
        last = extra.get("live_checked_at")
        paused_until = extra.get("api_paused_until")
        if isinstance(paused_until, int | float) and now < paused_until:
            return False
        return not isinstance(last, int | float) or now - last >= self.options.live_check_every

    async def _update_live_states(
        self, streams: list[Candidate], extra: dict[str, Any], now: float
    ) -> CollectorError | None:
        """Ask the Data API about the live feed's streams; a failure leaves the feeds' posts."""
        by_video = {s.url.removeprefix(WATCH): s.external_id for s in streams if s.url}
        try:
            states = await self._videos_list(list(by_video)[:API_BATCH])
        except CollectorError as error:
            if error.kind is ErrorKind.RATE_LIMITED:
                extra["api_paused_until"] = now + (error.retry_after or QUOTA_PAUSE)
            return error
        extra["live_checked_at"] = now
        extra["live_states"] = {by_video[v]: s for v, s in states.items() if v in by_video}
        return None

    async def _videos_list(self, video_ids: list[str]) -> dict[str, LiveState]:
        key_env = str(self.options.api_key_env)
        key = require_env(self.env, key_env)
        params = {"part": "liveStreamingDetails,snippet", "id": ",".join(video_ids)}
        # The key goes in a header, not the query: error messages quote the URL to staff.
        response = await fetch(
            self.http,
            f"{self.options.api_url}/videos",
            params=params,
            headers={"X-Goog-Api-Key": key},
            accept=(400, 403),
            retry=self.retry,
        )
        if not response.is_success:
            raise api_error(response, key_env)
        return live_states(json_body(response))


def _validators(prefix: str, response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        return {}
    return {
        f"{prefix}etag": response.headers.get("etag"),
        f"{prefix}last_modified": response.headers.get("last-modified"),
    }


def create(options: Options, context: CollectorContext) -> YouTubeCollector:
    return YouTubeCollector(options, context)
