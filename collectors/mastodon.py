"""Mastodon: a hashtag timeline on one server, paged forward with `min_id`, plus a streaming mode.

A post is only visible on the servers it federated to, so an event reads several servers, one
source each; the status `uri` is the network-wide identity that makes the same post seen on two
servers one post. The cursor is the highest server-local status id collected.
"""

from __future__ import annotations

import bisect
import html
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import anyio
import httpx
from pydantic import Field, ValidationInfo, field_validator

from collectors.base import (
    Author,
    Candidate,
    CollectorContext,
    CollectorError,
    CollectResult,
    EnvName,
    ErrorKind,
    Media,
    Secret,
    SourceState,
)
from collectors.http import (
    DEFAULT_RETRY,
    BaseUrl,
    Hashtags,
    RetryPolicy,
    bare_hashtags,
    count,
    dimension,
    error_for_exception,
    error_for_status,
    fetch,
    identifier,
    json_body,
    parse_iso_datetime,
    rate_limit_wait,
    reading,
    require_env,
    safe_url,
    text,
)
from collectors.window import Budget, PagedOptions, backlog_notice, window_since, with_window

RECENT_KEPT = 200
PUBLIC_VISIBILITIES = ("public", "unlisted")
MEDIA_TYPES = ("image", "gifv", "video", "audio")
SHORTCODE = re.compile(r":([A-Za-z0-9_]+):")
# Mastodon sends a heartbeat comment about every 15 s: a longer silence is a dead stream.
STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)


class Options(PagedOptions):
    type: Literal["mastodon"] = Field(
        default="mastodon", description="Source type: a hashtag timeline on one Mastodon server."
    )
    instance: BaseUrl = Field(
        description="Base URL of the Mastodon server to read, such as https://mastodon.social. "
        "A post is only visible on servers it federated to: add one source per server."
    )
    hashtags: Hashtags = Field(
        default=(),
        description="Hashtags to follow, without '#'. Empty means the event's hashtags.",
    )
    token_env: EnvName | None = Field(
        default=None,
        description="Name of the environment variable holding an access token (read scope), "
        "for servers that require one for hashtag timelines. Required for streaming.",
    )
    streaming: bool = Field(
        default=False,
        strict=True,
        description="Also follow the server's streaming API for near-instant posts, edits and "
        "deletions; polling catches up whenever the stream drops. Requires token_env.",
    )
    limit: int = Field(
        default=40,
        ge=1,
        le=40,
        strict=True,
        description="Statuses asked for per page (40 at most).",
    )
    recheck_per_run: int = Field(
        default=3,
        ge=0,
        le=40,
        strict=True,
        description="Recently collected statuses re-read per run to notice deletions and edits.",
    )

    # A field validator, not a model one: it runs even when another field is wrong, so the
    # person editing the file sees every problem at once.
    @field_validator("streaming")
    @classmethod
    def _streaming_needs_token(cls, streaming: bool, info: ValidationInfo) -> bool:
        if streaming and not info.data.get("token_env"):
            raise ValueError("streaming requires token_env: Mastodon 4.2+ streams need a token")
        return streaming

    def secrets(self) -> list[Secret]:
        if self.token_env is None:
            return []
        without = "servers that require a token for hashtag timelines refuse it"
        return [Secret("token_env", self.token_env, required=self.streaming, without=without)]


# --- mapping: Mastodon JSON to candidates, with no I/O -------------------------------------


@dataclass(frozen=True)
class Seen:
    """One timeline entry: its id on this server, and what we keep of it."""

    timeline_id: str
    status_id: str  # the original's id when the entry is a boost
    candidate: Candidate | None  # None: not for the wall (reply, private, direct)
    at: datetime | None = None  # when the entry reached the timeline (a boost: when boosted)


def id_order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings of growing length: compare length, then text."""
    return (len(status_id), status_id)


def parse_timeline(payload: Any, host: str) -> tuple[list[Seen], int]:
    """Timeline JSON (a list of statuses) to what we keep, oldest first; and how many were unreadable."""
    if not isinstance(payload, list):
        raise CollectorError(ErrorKind.BAD_PAYLOAD, "a timeline should be a JSON array of statuses")
    seen: list[Seen] = []
    unreadable = 0
    for status in payload:
        try:
            seen.append(parse_entry(status, host))
        except CollectorError:
            # One odd status must not block the cursor forever: skip it and say so.
            unreadable += 1
    return sorted(seen, key=lambda s: id_order(s.timeline_id)), unreadable


def parse_entry(status: Any, host: str) -> Seen:
    with reading("Mastodon status"):
        original = status["reblog"] or status
        timeline_id = identifier(status["id"])
        candidate = status_to_candidate(original, host)
        at = parse_iso_datetime(status.get("created_at"))
        return Seen(timeline_id, identifier(original["id"]), candidate, at)


def status_to_candidate(status: Any, host: str) -> Candidate | None:
    """A (non-boost) status as a candidate, or None when it is not for a public wall."""
    with reading("Mastodon status"):
        if status.get("in_reply_to_id") is not None:
            return None
        if status.get("visibility") not in PUBLIC_VISIBILITIES:
            return None
        return _candidate(status, host)


def _candidate(status: dict[str, Any], host: str) -> Candidate:
    uri = identifier(status["uri"])
    created = parse_iso_datetime(status["created_at"])
    if created is None:
        raise ValueError(f"created_at {status['created_at']!r} is not an ISO 8601 time")
    sensitive = status.get("sensitive") is True
    return Candidate(
        external_id=uri,
        dedupe_key=uri,
        url=safe_url(status.get("url")) or safe_url(uri),
        author=account_to_author(status["account"], host),
        created_at=created,
        edited_at=parse_iso_datetime(status.get("edited_at")),
        html=with_emojis(text(status.get("content")), status.get("emojis") or []),
        language=text(status.get("language")) or None,
        media=[m for a in status.get("media_attachments") or [] if (m := _media(a, sensitive))],
        likes=count(status.get("favourites_count")),
        shares=count(status.get("reblogs_count")),
        replies=count(status.get("replies_count")),
        content_warning=text(status.get("spoiler_text")) or None,
        sensitive=sensitive,
        hashtags=[text(t.get("name")) for t in status.get("tags") or [] if text(t.get("name"))],
        network="mastodon",
    )


def account_to_author(account: dict[str, Any], host: str) -> Author:
    acct = identifier(account["acct"])
    # Local accounts come without a domain; the wall shows every handle in full.
    handle = f"@{acct}" if "@" in acct else f"@{acct}@{host}"
    return Author(
        handle=handle,
        name=text(account.get("display_name")) or text(account.get("username")) or acct,
        avatar_url=safe_url(account.get("avatar_static")) or safe_url(account.get("avatar")),
        profile_url=safe_url(account.get("url")),
    )


def _media(attachment: dict[str, Any], sensitive: bool) -> Media | None:
    kind = attachment.get("type")
    url = safe_url(attachment.get("url")) or safe_url(attachment.get("remote_url"))
    if kind not in MEDIA_TYPES or url is None:
        return None
    original = (attachment.get("meta") or {}).get("original") or {}
    return Media(
        url=url,
        type=kind,
        alt=text(attachment.get("description")),
        preview_url=safe_url(attachment.get("preview_url")),
        sensitive=sensitive,
        width=dimension(original.get("width")),
        height=dimension(original.get("height")),
    )


def with_emojis(content: str, emojis: Iterable[Any]) -> str:
    """Custom emoji `:shortcode:` as images; the sanitizer downstream decides what stays."""
    images: dict[str, str] = {}
    for emoji in emojis:
        shortcode = text(emoji.get("shortcode")) if isinstance(emoji, dict) else ""
        url = safe_url(emoji.get("static_url") or emoji.get("url")) if shortcode else None
        if url and SHORTCODE.fullmatch(f":{shortcode}:"):
            images[shortcode] = (
                f'<img src="{html.escape(url)}" alt=":{shortcode}:" title=":{shortcode}:" '
                'class="emoji">'
            )
    if not images:
        return content
    return SHORTCODE.sub(lambda m: images.get(m.group(1), m.group(0)), content)


# --- state kept between runs ---------------------------------------------------------------


@dataclass
class Recent:
    """Recently collected statuses, re-read a few at a time to notice deletions and edits."""

    entries: list[list[str]] = field(default_factory=list)  # [status id, uri, edited_at]
    next_check: int = 0
    # The status ids in `entries`: a run of thousands of new statuses asks `forget` about
    # each one, and scanning the list every time made a long look-back quadratic.
    _ids: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._ids = {entry[0] for entry in self.entries}

    @classmethod
    def load(cls, extra: dict[str, Any]) -> Recent:
        raw = extra.get("recent")
        entries = [list(map(str, e)) for e in raw if _is_entry(e)] if isinstance(raw, list) else []
        position = extra.get("recheck_at")
        return cls(entries, position if isinstance(position, int) else 0)

    def dump(self) -> dict[str, Any]:
        return {"recent": self.entries[-RECENT_KEPT:], "recheck_at": self.next_check}

    def remember(self, status_id: str, candidate: Candidate) -> None:
        edited = candidate.edited_at.isoformat() if candidate.edited_at else ""
        self.forget(status_id)
        # In id order, so a look-back's older statuses never push the newest ones out.
        entry = [status_id, candidate.external_id, edited]
        bisect.insort(self.entries, entry, key=lambda e: id_order(e[0]))
        self._ids.add(status_id)

    def forget(self, status_id: str) -> str | None:
        if status_id not in self._ids:
            return None
        for entry in self.entries:
            if entry[0] == status_id:
                self.entries.remove(entry)
                self._ids.discard(status_id)
                return entry[1]
        return None

    def due(self, how_many: int, fresh: set[str]) -> list[list[str]]:
        """The next few to re-read, in turn; what this run just read needs no second look."""
        kept = [e for e in self.entries[-RECENT_KEPT:] if e[1] not in fresh]
        if not kept or how_many <= 0:
            return []
        start = self.next_check % len(kept)
        picked = (kept[start:] + kept[:start])[:how_many]
        self.next_check = start + len(picked)
        return picked


def _is_entry(value: object) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)


# --- the collector ---------------------------------------------------------------------------


OLDER_THAN = "older_than"  # in the state: where a look-back still under way goes on


@dataclass
class Timeline:
    """What one run read of the hashtag timeline, and where it stopped."""

    seen: list[Seen] = field(default_factory=list)
    unreadable: int = 0
    wait: float | None = None
    error: CollectorError | None = None
    # The max_id the look-back goes on from next run; None once it reached the window's start.
    older_than: str | None = None

    @property
    def stopped(self) -> bool:
        return self.error is not None or self.wait is not None

    def add(self, response: httpx.Response, host: str) -> tuple[list[Seen], bool]:
        """The page's entries, and whether it had any (some may have been unreadable)."""
        seen, unreadable = parse_timeline(json_body(response), host)
        self.seen.extend(seen)
        self.unreadable += unreadable
        self.wait = rate_limit_wait(response.headers, datetime.now(UTC))
        return seen, bool(seen or unreadable)


OnResult = Callable[[CollectResult], Awaitable[None]]


class MastodonCollector:
    def __init__(
        self, options: Options, context: CollectorContext, retry: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self.options = options
        self.context = context
        self.http = context.http
        self.env = context.env
        self.retry = retry
        self.hashtags = options.hashtags or bare_hashtags(context.hashtags)
        self.host = urlsplit(options.instance).netloc

    async def collect(self, state: SourceState) -> CollectResult:
        """Statuses newer than the cursor, then the look-back still owed, within one page budget.

        The first run has no cursor: it reads from the newest status back to the window's
        start, and the newest id it met becomes the cursor. A run that stops before the start
        keeps the id it reached (`older_than`), and the next runs read both what came since
        the cursor and what lies between `older_than` and the window's start.
        """
        if not self.hashtags:
            raise CollectorError(ErrorKind.CONFIG, "no hashtag to follow: set hashtags")
        headers = self._headers()
        since = window_since(state.extra, self.options, self.context)
        budget = Budget(self.options.max_pages)
        timeline = Timeline(older_than=_owed(state))
        if state.cursor:
            await self._read_newer(state.cursor, headers, budget, timeline)
        if state.cursor is None:
            await self._read_older(None, since, headers, budget, timeline)
        elif timeline.older_than and not timeline.stopped:
            await self._read_older(timeline.older_than, since, headers, budget.rest(), timeline)
        recent = Recent.load(state.extra)
        posts, cursor = self._keep(timeline.seen, recent, state.cursor, since)
        result = CollectResult(posts=posts, wait_at_least=timeline.wait, error=timeline.error)
        if timeline.unreadable and result.error is None:
            result.error = CollectorError(
                ErrorKind.BAD_PAYLOAD, f"{timeline.unreadable} statuses could not be read"
            )
        if result.error is None and timeline.wait is None:
            await self._recheck(recent, headers, {p.external_id for p in posts}, result)
        if budget.hit:
            owed = f"the look-back to {since:%Y-%m-%d %H:%M} UTC" if timeline.older_than else ""
            result.notice = backlog_notice(budget, owed or "the newer posts")
        extra = {**with_window(state.extra, since), **recent.dump()}
        extra.pop(OLDER_THAN, None)
        if timeline.older_than:
            extra[OLDER_THAN] = timeline.older_than
        result.state = SourceState(cursor, state.etag, state.last_modified, extra)
        return result

    def _keep(
        self, seen: list[Seen], recent: Recent, cursor: str | None, since: datetime
    ) -> tuple[list[Candidate], str | None]:
        posts: dict[str, Candidate] = {}
        for entry in sorted(seen, key=lambda s: id_order(s.timeline_id)):
            if cursor is None or id_order(entry.timeline_id) > id_order(cursor):
                cursor = entry.timeline_id
            if entry.at is not None and entry.at < since:
                continue  # read on the way to the window's start, but older than it
            if entry.candidate and entry.candidate.external_id not in posts:
                posts[entry.candidate.external_id] = entry.candidate
                recent.remember(entry.status_id, entry.candidate)
        return list(posts.values()), cursor

    def _headers(self) -> dict[str, str]:
        if not self.options.token_env:
            return {}
        return {"Authorization": f"Bearer {require_env(self.env, self.options.token_env)}"}

    def _auth_hint(self) -> str:
        if self.options.token_env:
            return f"the token in {self.options.token_env} was refused"
        return "this server requires a token for hashtag timelines: set token_env"

    async def _get(self, url: str, params: Any, headers: dict[str, str]) -> httpx.Response:
        return await fetch(
            self.http,
            url,
            params=params,
            headers=headers,
            auth_hint=self._auth_hint(),
            retry=self.retry,
        )

    def _first_page(self, cursor: tuple[str, str] | None) -> tuple[str, Any]:
        first, *others = self.hashtags
        url = f"{self.options.instance}/api/v1/timelines/tag/{quote(first, safe='')}"
        params = [("any[]", t) for t in others] + [("limit", self.options.limit)]
        return url, params + ([cursor] if cursor else [])

    async def _page(
        self, url: str, params: Any, headers: dict[str, str], timeline: Timeline
    ) -> httpx.Response | None:
        """One page, or None when it failed after earlier pages (which are kept)."""
        try:
            return await self._get(url, params, headers)
        except CollectorError as error:
            if not timeline.seen:
                raise
            timeline.error = error
            return None

    async def _read_newer(
        self, cursor: str, headers: dict[str, str], budget: Budget, timeline: Timeline
    ) -> None:
        """Statuses newer than the cursor, oldest page first, so a stop leaves no gap behind."""
        # With min_id the server answers the page just newer than it; "prev" walks newer still.
        url: str | None
        url, params = self._first_page(("min_id", cursor))
        while url and budget.take():
            response = await self._page(url, params, headers, timeline)
            if response is None or not timeline.add(response, self.host)[1] or timeline.wait:
                return
            url, params = response.links.get("prev", {}).get("url"), None

    async def _read_older(
        self,
        max_id: str | None,
        since: datetime,
        headers: dict[str, str],
        budget: Budget,
        timeline: Timeline,
    ) -> None:
        """From `max_id` (or the newest status) back to the window's start, newest page first."""
        url: str | None
        url, params = self._first_page(("max_id", max_id) if max_id else None)
        while url and budget.take():
            response = await self._page(url, params, headers, timeline)
            if response is None:
                return
            seen, any_entry = timeline.add(response, self.host)
            url, params = response.links.get("next", {}).get("url"), None
            reached_start = any(s.at is not None and s.at < since for s in seen)
            if not any_entry or reached_start or url is None:
                timeline.older_than = None
                return
            oldest = min((s.timeline_id for s in seen), key=id_order, default=None)
            timeline.older_than = _max_id(url) or oldest or timeline.older_than
            if timeline.wait:
                return

    async def _recheck(
        self, recent: Recent, headers: dict[str, str], fresh: set[str], result: CollectResult
    ) -> None:
        for status_id, uri, edited in recent.due(self.options.recheck_per_run, fresh):
            try:
                await self._recheck_one(status_id, uri, edited, recent, headers, result)
            except CollectorError as error:
                result.error = error
                return

    async def _recheck_one(
        self,
        status_id: str,
        uri: str,
        edited: str,
        recent: Recent,
        headers: dict[str, str],
        result: CollectResult,
    ) -> None:
        url = f"{self.options.instance}/api/v1/statuses/{quote(status_id, safe='')}"
        response = await fetch(
            self.http,
            url,
            headers=headers,
            accept=(404, 410),
            auth_hint=self._auth_hint(),
            retry=self.retry,
        )
        if response.status_code in (404, 410):
            recent.forget(status_id)
            result.deleted.append(uri)
            return
        candidate = status_to_candidate(json_body(response), self.host)
        if candidate is None:  # turned private since: no longer for the wall
            recent.forget(status_id)
            result.deleted.append(uri)
        elif (candidate.edited_at.isoformat() if candidate.edited_at else "") != edited:
            recent.remember(status_id, candidate)
            result.posts.append(candidate)

    # --- streaming -------------------------------------------------------------------------

    async def stream(
        self, state: SourceState, on_result: OnResult, stop: anyio.Event | None = None
    ) -> None:
        """Follow the hashtag streams, calling `on_result` per event, until a stream drops or `stop`.

        The cursor is left to polling, so a gap in the stream is never skipped: polling with
        min_id catches up after the stream returns, and the pipeline drops what it already has.
        """
        headers = self._headers()
        if not headers:
            raise CollectorError(ErrorKind.CONFIG, "streaming requires token_env")
        base = await self._streaming_base(headers)
        current = StreamState(state)
        try:
            async with anyio.create_task_group() as group:
                for tag in self.hashtags:
                    group.start_soon(
                        self._follow, base, tag, headers, current, on_result, group.cancel_scope
                    )
                if stop is not None:
                    group.start_soon(_cancel_on, stop, group.cancel_scope)
        except ExceptionGroup as group_error:
            # Callers expect one CollectorError, as from collect(), not a group of them.
            errors, rest = group_error.split(CollectorError)
            if errors is None or rest is not None:
                raise
            raise _first(errors) from None

    async def _streaming_base(self, headers: dict[str, str]) -> str:
        response = await self._get(f"{self.options.instance}/api/v2/instance", None, headers)
        with reading("Mastodon instance"):
            streaming = json_body(response)["configuration"]["urls"]["streaming"]
        return streaming_http_base(text(streaming)) or self.options.instance

    async def _follow(
        self,
        base: str,
        tag: str,
        headers: dict[str, str],
        current: StreamState,
        on_result: OnResult,
        scope: anyio.CancelScope,
    ) -> None:
        url = f"{base}/api/v1/streaming/hashtag"
        try:
            async with self.http.stream(
                "GET", url, params={"tag": tag}, headers=headers, timeout=STREAM_TIMEOUT
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise error_for_status(response, self._auth_hint())
                async for event, data in sse_events(response.aiter_lines()):
                    result = current.apply(event, data, self.host)
                    if result is not None:
                        await on_result(result)
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise error_for_exception(exc, url) from None
            # A dropped stream is expected: returning hands over to polling.
        scope.cancel()


def _owed(state: SourceState) -> str | None:
    owed = state.extra.get(OLDER_THAN)
    return owed if isinstance(owed, str) and owed and state.cursor else None


def _max_id(url: str) -> str | None:
    """The max_id of a Link "next" address: where the page after it starts."""
    try:
        return httpx.URL(url).params.get("max_id") or None
    except (httpx.InvalidURL, TypeError):
        return None


def _first(group: BaseExceptionGroup[CollectorError]) -> CollectorError:
    first = group.exceptions[0]
    return first if isinstance(first, CollectorError) else _first(first)


async def _cancel_on(stop: anyio.Event, scope: anyio.CancelScope) -> None:
    await stop.wait()
    scope.cancel()


def streaming_http_base(url: str) -> str | None:
    """The server's streaming base (announced as wss://) as the https:// URL SSE uses."""
    parts = urlsplit(url)
    scheme = {"wss": "https", "ws": "http", "https": "https", "http": "http"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        return None
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs from server-sent event lines; comments (heartbeats) are skipped."""
    event, data = "message", list[str]()
    async for line in lines:
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)


class StreamState:
    """The source's state as stream events change it, and the result each event gives."""

    def __init__(self, state: SourceState) -> None:
        self.state = state
        self.recent = Recent.load(state.extra)

    def apply(self, event: str, data: str, host: str) -> CollectResult | None:
        if event in ("update", "status.update"):
            return self._update(data, host)
        if event == "delete":
            uri = self.recent.forget(data.strip())
            return self._result(deleted=[uri]) if uri else None
        return None

    def _update(self, data: str, host: str) -> CollectResult | None:
        try:
            seen = parse_entry(json.loads(data), host)
        except (CollectorError, ValueError):
            return None  # one unreadable event is not worth dropping the stream for
        if seen.candidate is None:
            return None
        self.recent.remember(seen.status_id, seen.candidate)
        return self._result(posts=[seen.candidate])

    def _result(
        self, posts: list[Candidate] | None = None, deleted: list[str] | None = None
    ) -> CollectResult:
        extra = {**self.state.extra, **self.recent.dump()}
        state = SourceState(self.state.cursor, self.state.etag, self.state.last_modified, extra)
        self.state = state
        return CollectResult(posts=posts or [], deleted=deleted or [], state=state)


def create(options: Options, context: CollectorContext) -> MastodonCollector:
    return MastodonCollector(options, context)
