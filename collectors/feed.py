"""RSS and Atom feeds (RSS 0.9x, 1.0/RDF, 2.0, Atom), read with conditional GET and feedparser.

A feed is a snapshot of its latest entries: every fetch that brings a body yields those inside
the source's look-back window and the pipeline keeps what is new or changed. A feed is one
document, so there is nothing to page through; an entry older than the window's start is never
taken, so a first run does not bring years of news. Feeds cannot say an entry was deleted.
"""

from __future__ import annotations

import hashlib
import html
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import feedparser
from pydantic import Field

from collectors.base import (
    Author,
    Candidate,
    CollectorContext,
    CollectorError,
    CollectResult,
    ErrorKind,
    Media,
    SourceState,
)
from collectors.http import (
    DEFAULT_RETRY,
    EARLIEST,
    LATEST,
    HttpUrl,
    RetryPolicy,
    conditional_headers,
    dimension,
    fetch,
    reading,
    safe_url,
    text,
)
from collectors.window import WindowOptions, window_since, with_window

# feedparser's notices that the HTTP headers and the document disagree about the encoding
# or type: the entries are read correctly all the same, so staff need not hear of it.
HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class Options(WindowOptions):
    type: Literal["feed"] = Field(default="feed", description="Source type: an RSS or Atom feed.")
    url: HttpUrl = Field(description="Address of the RSS or Atom feed (http or https).")
    every: int = Field(
        default=300,
        ge=5,
        le=86400,
        strict=True,
        description="Seconds between two fetches of the feed.",
    )
    max_entries: int = Field(
        default=50,
        ge=1,
        le=1000,
        strict=True,
        description="Most entries taken from one fetch, newest first.",
    )


# --- parsing: bytes to candidates, with no I/O ---------------------------------------------


def read_feed(
    body: bytes, headers: Mapping[str, str], url: str
) -> tuple[Any, CollectorError | None]:
    """feedparser's result, and a warning when the document is damaged but still readable."""
    response_headers = {k.lower(): v for k, v in headers.items()}
    # Relative links resolve against where the feed really is, after redirects.
    response_headers["content-location"] = url
    try:
        parsed = feedparser.parse(body, response_headers=response_headers)
    except Exception as exc:  # a third-party parser fed untrusted bytes: anything may surface
        raise CollectorError(ErrorKind.BAD_PAYLOAD, f"{url} could not be parsed: {exc!r}") from None
    if not parsed.get("version") and not parsed.get("entries"):
        problem = _problem(parsed.get("bozo_exception"))
        raise CollectorError(ErrorKind.BAD_PAYLOAD, f"{url} is not an RSS or Atom feed{problem}")
    return parsed, _warning(parsed, url)


def _warning(parsed: Any, url: str) -> CollectorError | None:
    exc = parsed.get("bozo_exception")
    if not parsed.get("bozo") or exc is None or isinstance(exc, HARMLESS):
        return None
    read = len(parsed.get("entries") or [])
    return CollectorError(
        ErrorKind.BAD_PAYLOAD,
        f"the feed at {url} is damaged{_problem(exc)}; {read} entries were read anyway",
    )


def _problem(exc: object) -> str:
    if exc is None:
        return ""
    line = getattr(exc, "getLineNumber", None)
    where = f" at line {line()}" if callable(line) else ""
    message = exc.getMessage() if hasattr(exc, "getMessage") else str(exc)
    return f" ({message}{where})"


def parse_feed(
    body: bytes, headers: Mapping[str, str], url: str, now: datetime, max_entries: int = 50
) -> tuple[list[Candidate], CollectorError | None]:
    """A feed document as candidates, oldest first; and a warning when it was damaged."""
    parsed, warning = read_feed(body, headers, url)
    with reading("feed"):
        feed = parsed.get("feed") or {}
        entries = list(parsed.get("entries") or [])[:max_entries]
        posts = [entry_to_candidate(e, feed, url, now) for e in entries]
    return sorted(posts, key=lambda p: p.created_at), warning


def entry_to_candidate(entry: Any, feed: Any, url: str, now: datetime) -> Candidate:
    published = _time(entry.get("published_parsed"))
    updated = _time(entry.get("updated_parsed"))
    created = published or updated or now
    return Candidate(
        external_id=text(entry.get("id")) or stable_id(entry),
        url=safe_url(entry.get("link")),
        author=_author(entry, feed, url),
        created_at=created,
        edited_at=updated if published and updated and updated > published else None,
        title=text(entry.get("title")) or None,
        html=entry_html(entry),
        language=_language(entry, feed),
        media=entry_media(entry),
        kind="article",
    )


def stable_id(entry: Any) -> str:
    """An id for entries without one, stable across fetches as long as the entry is."""
    parts = (text(entry.get(k)) for k in ("link", "title", "published"))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        when = datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return when if EARLIEST <= when < LATEST else None


def _author(entry: Any, feed: Any, url: str) -> Author:
    name = text(entry.get("author")) or text(feed.get("title")) or urlsplit(url).netloc
    detail = entry.get("author_detail") or {}
    return Author(
        handle=name,
        name=name,
        avatar_url=safe_url((feed.get("image") or {}).get("href")),
        profile_url=safe_url(detail.get("href")) or safe_url(feed.get("link")),
    )


def entry_html(entry: Any) -> str | None:
    """The entry's fullest body: its content, else its summary; plain text is escaped."""
    contents = entry.get("content") or []
    detail = contents[0] if contents else entry.get("summary_detail") or {}
    value = text(detail.get("value")) or text(entry.get("summary"))
    if not value:
        return None
    return html.escape(value) if detail.get("type") == "text/plain" else value


def _language(entry: Any, feed: Any) -> str | None:
    detail = entry.get("title_detail") or {}
    code = text(detail.get("language")) or text(feed.get("language"))
    return (code.split("-")[0].lower() or None) if code else None


def entry_media(entry: Any) -> list[Media]:
    """Images and videos from enclosures and Media RSS, with thumbnails as previews."""
    thumbnails = [u for t in entry.get("media_thumbnail") or [] if (u := safe_url(t.get("url")))]
    found: list[Media] = []
    for item in [*(entry.get("enclosures") or []), *(entry.get("media_content") or [])]:
        media = _medium(item, thumbnails[0] if thumbnails else None)
        if media and all(m.url != media.url for m in found):
            found.append(media)
    if not found and thumbnails:
        first = (entry.get("media_thumbnail") or [{}])[0]
        found.append(_image(thumbnails[0], first))
    return found


def _medium(item: Any, preview: str | None) -> Media | None:
    url = safe_url(item.get("href") or item.get("url"))
    mime = text(item.get("type")).lower()
    medium = text(item.get("medium")).lower()
    if url is None:
        return None
    if mime.startswith("image/") or medium == "image":
        return _image(url, item)
    if mime.startswith("video/") or medium == "video":
        return Media(url=url, type="video", preview_url=preview)
    return None


def _image(url: str, item: Any) -> Media:
    return Media(
        url=url,
        type="image",
        width=dimension(item.get("width")),
        height=dimension(item.get("height")),
    )


# --- the collector ---------------------------------------------------------------------------


class FeedCollector:
    def __init__(
        self, options: Options, context: CollectorContext, retry: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self.options = options
        self.context = context
        self.http = context.http
        self.retry = retry

    async def collect(self, state: SourceState) -> CollectResult:
        since = window_since(state.extra, self.options, self.context)
        response = await fetch(
            self.http,
            self.options.url,
            headers=conditional_headers(state.etag, state.last_modified),
            auth_hint="the feed asks for credentials livewall does not send",
            retry=self.retry,
        )
        if response.status_code == 304:
            return CollectResult(state=state, not_modified=True)
        posts, warning = parse_feed(
            response.content,
            response.headers,
            str(response.url),
            datetime.now(UTC),
            self.options.max_entries,
        )
        new_state = SourceState(
            cursor=state.cursor,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            extra=with_window(state.extra, since),
        )
        posts = [p for p in posts if p.created_at >= since]
        return CollectResult(posts=posts, state=new_state, error=warning)


def create(options: Options, context: CollectorContext) -> FeedCollector:
    return FeedCollector(options, context)
