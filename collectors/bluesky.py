"""Bluesky: `app.bsky.feed.searchPosts` through an app-password session.

Search needs an authenticated session since 2025. The session lives in the collector instance
across runs and is refreshed before its access token expires. Each search remembers the newest
time it read; each run asks for posts `since` a little before it and drops those it already has,
since search orders by a time that can trail the post's own. A run that stops before it reached
back to where it had to (the window's start at first, the newest time later) keeps that stretch
as owed (`since`/`until`), and the next runs read it too.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import Field

from collectors.base import (
    Author,
    Candidate,
    CollectorContext,
    CollectorError,
    CollectResult,
    EnvName,
    ErrorKind,
    Media,
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
    error_for_status,
    fetch,
    identifier,
    json_body,
    parse_iso_datetime,
    reading,
    require_env,
    safe_url,
    text,
)
from collectors.window import Budget, PagedOptions, backlog_notice, window_since, with_window

APP = "https://bsky.app"
SENSITIVE_LABELS = frozenset({"sexual", "nudity", "porn", "graphic-media", "gore", "nsfl"})
REFRESH_MARGIN = 300.0  # seconds of validity left below which the session is refreshed
OVERLAP = timedelta(minutes=10)
SEEN_KEPT = 500
# `until` leaves out its own instant (milliseconds): one tick later takes it in.
TICK = timedelta(milliseconds=1)
# Names the server gives an access token it will no longer take.
TOKEN_REFUSED = ("ExpiredToken", "InvalidToken")


class Options(PagedOptions):
    type: Literal["bluesky"] = Field(
        default="bluesky", description="Source type: Bluesky post search."
    )
    handle: str = Field(
        description="Handle (or email) of the Bluesky account the search runs as, such as "
        "umq.bsky.social. Search requires a logged-in account."
    )
    app_password_env: EnvName = Field(
        description="Name of the environment variable holding an app password for that account "
        "(Settings → Privacy and security → App passwords), never the account password."
    )
    hashtags: Hashtags = Field(
        default=(),
        description="Hashtags to search, without '#', one search each. Empty means the event's.",
    )
    query: str | None = Field(
        default=None,
        description="A search query (Lucene syntax) used instead of the hashtags, for events "
        "better found by words or accounts than by tags.",
    )
    service: BaseUrl = Field(
        default="https://bsky.social",
        description="Base URL of the account's PDS or entryway, which logs in and proxies search.",
    )
    limit: int = Field(
        default=50,
        ge=1,
        le=100,
        strict=True,
        description="Posts asked for per page (100 at most; the server may answer fewer).",
    )
    max_pages: int = Field(
        default=50,
        ge=1,
        le=500,
        strict=True,
        description="Most pages read per search in one run. A run that reaches it keeps what it "
        "read, says so in `livewall sources` (backlog), and the next run goes on from there.",
    )


# --- mapping: PostView JSON to candidates, with no I/O -------------------------------------


@dataclass(frozen=True)
class Found:
    uri: str
    sort_time: datetime  # when search files the post: the earlier of created and indexed
    candidate: Candidate | None  # None: a reply, not for the wall
    cid: str = ""  # the record version: a record rewritten in place gets a new one

    @property
    def version(self) -> str:
        """What "seen" remembers: the same post in a new version is not seen yet (an edit)."""
        return f"{self.uri} {self.cid}" if self.cid else self.uri


def parse_search(payload: Any) -> tuple[list[Found], str | None, int]:
    """searchPosts output: the posts, the next page's cursor, and how many were unreadable."""
    with reading("searchPosts answer"):
        posts = payload["posts"]
        cursor = payload.get("cursor")
        if not isinstance(posts, list):
            raise TypeError("posts is not a list")
    found: list[Found] = []
    for post in posts:
        try:
            found.append(parse_post(post))
        except CollectorError:
            continue  # counted below: one odd post must not stop the others
    return found, cursor if isinstance(cursor, str) and cursor else None, len(posts) - len(found)


def parse_post(post: Any) -> Found:
    with reading("Bluesky post"):
        uri = identifier(post["uri"])
        record = post["record"]
        indexed = parse_iso_datetime(post.get("indexedAt"))
        created = parse_iso_datetime(record.get("createdAt")) or indexed
        if created is None:
            raise ValueError("the post has neither createdAt nor indexedAt")
        sort_time = min(created, indexed or created)
        cid = post.get("cid") if isinstance(post.get("cid"), str) else ""
        if record.get("reply"):
            return Found(uri, sort_time, None, cid)
        return Found(uri, sort_time, _candidate(post, record, uri, created), cid)


def _candidate(
    post: dict[str, Any], record: dict[str, Any], uri: str, created: datetime
) -> Candidate:
    author = post["author"]
    handle = identifier(author["handle"])
    sensitive = any(
        text(label.get("val")) in SENSITIVE_LABELS for label in post.get("labels") or []
    )
    media, quote_html = embed_parts(post.get("embed"), sensitive)
    langs = record.get("langs") or []
    return Candidate(
        external_id=uri,
        url=f"{APP}/profile/{quote(handle)}/post/{quote(uri.rsplit('/', 1)[-1])}",
        author=Author(
            handle=f"@{handle}",
            name=text(author.get("displayName")) or handle,
            avatar_url=safe_url(author.get("avatar")),
            profile_url=f"{APP}/profile/{quote(handle)}",
        ),
        created_at=created,
        text=text(record.get("text")),
        html=rich_text_html(text(record.get("text")), record.get("facets") or []) + quote_html,
        language=(text(langs[0]) or None) if isinstance(langs, list) and langs else None,
        media=media,
        likes=count(post.get("likeCount")),
        shares=count(post.get("repostCount")) + count(post.get("quoteCount")),
        replies=count(post.get("replyCount")),
        sensitive=sensitive,
        hashtags=_hashtags(record),
        network="bluesky",
    )


def _hashtags(record: dict[str, Any]) -> list[str]:
    tags = [text(t) for t in record.get("tags") or []]
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or []:
            if feature.get("$type") == "app.bsky.richtext.facet#tag":
                tags.append(text(feature.get("tag")))
    return list(dict.fromkeys(t for t in tags if t))


def rich_text_html(body: str, facets: list[Any]) -> str:
    """Post text as HTML, with facets as links. Facets count UTF-8 bytes, not characters."""
    data = body.encode("utf-8")
    parts: list[str] = []
    position = 0
    for start, end, href in sorted(_spans(facets, len(data))):
        if start < position:
            continue  # overlapping facets: the first one wins
        parts.append(_escaped(data[position:start]))
        parts.append(f'<a href="{html.escape(href)}">{_escaped(data[start:end])}</a>')
        position = end
    parts.append(_escaped(data[position:]))
    return f"<p>{''.join(parts)}</p>"


def _spans(facets: list[Any], size: int) -> list[tuple[int, int, str]]:
    spans = []
    for facet in facets if isinstance(facets, list) else []:
        if not isinstance(facet, dict) or not isinstance(facet.get("index"), dict):
            continue
        index = facet["index"]
        start, end = index.get("byteStart"), index.get("byteEnd")
        href = _facet_href(facet.get("features") or [])
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size and href:
            spans.append((start, end, href))
    return spans


def _facet_href(features: Any) -> str | None:
    for feature in features if isinstance(features, list) else []:
        kind = feature.get("$type") if isinstance(feature, dict) else None
        if kind == "app.bsky.richtext.facet#link" and safe_url(feature.get("uri")):
            return safe_url(feature.get("uri"))
        if kind == "app.bsky.richtext.facet#mention" and text(feature.get("did")):
            return f"{APP}/profile/{quote(feature['did'], safe=':')}"
        if kind == "app.bsky.richtext.facet#tag" and text(feature.get("tag")):
            return f"{APP}/hashtag/{quote(feature['tag'], safe='')}"
    return None


def _escaped(data: bytes) -> str:
    # A facet boundary inside a character is the remote's bug: show a replacement, not a crash.
    return html.escape(data.decode("utf-8", errors="replace")).replace("\n", "<br>")


def embed_parts(embed: Any, sensitive: bool) -> tuple[list[Media], str]:
    """Media, and the HTML of a quoted post, from a post's embed view."""
    try:
        with reading("Bluesky embed"):
            return _embed_parts(embed, sensitive)
    except CollectorError:
        return [], ""  # a broken embed costs the post its embed, not the post itself


def _embed_parts(embed: Any, sensitive: bool) -> tuple[list[Media], str]:
    if not isinstance(embed, dict):
        return [], ""
    kind = embed.get("$type")
    if kind == "app.bsky.embed.recordWithMedia#view":
        media, _ = _embed_parts(embed.get("media"), sensitive)
        return media, _quote_html((embed.get("record") or {}).get("record"))
    if kind == "app.bsky.embed.record#view":
        return [], _quote_html(embed.get("record"))
    return _media(embed, kind, sensitive), ""


def _media(embed: dict[str, Any], kind: Any, sensitive: bool) -> list[Media]:
    if kind == "app.bsky.embed.images#view":
        return [m for image in embed.get("images") or [] if (m := _image(image, sensitive))]
    if kind == "app.bsky.embed.video#view" and safe_url(embed.get("playlist")):
        return [
            Media(
                url=str(safe_url(embed.get("playlist"))),
                type="video",
                alt=text(embed.get("alt")),
                preview_url=safe_url(embed.get("thumbnail")),
                sensitive=sensitive,
                width=dimension((embed.get("aspectRatio") or {}).get("width")),
                height=dimension((embed.get("aspectRatio") or {}).get("height")),
            )
        ]
    if kind != "app.bsky.embed.external#view":
        return []
    external = embed.get("external") or {}
    if safe_url(external.get("uri")):
        link = Media(
            url=str(safe_url(external.get("uri"))),
            type="link",
            alt=text(external.get("title")) or text(external.get("description")),
            preview_url=safe_url(external.get("thumb")),
        )
        return [link]
    return []


def _image(image: dict[str, Any], sensitive: bool) -> Media | None:
    url = safe_url(image.get("fullsize"))
    if url is None:
        return None
    return Media(
        url=url,
        alt=text(image.get("alt")),
        preview_url=safe_url(image.get("thumb")),
        sensitive=sensitive,
        width=dimension((image.get("aspectRatio") or {}).get("width")),
        height=dimension((image.get("aspectRatio") or {}).get("height")),
    )


def _quote_html(record: Any) -> str:
    """A quoted post as a blockquote; blocked, deleted or non-post records show nothing."""
    if not isinstance(record, dict) or record.get("$type") != "app.bsky.embed.record#viewRecord":
        return ""
    value = record.get("value") or {}
    handle = text((record.get("author") or {}).get("handle"))
    body = rich_text_html(text(value.get("text")), value.get("facets") or [])
    return f"<blockquote>{body}<p>— @{html.escape(handle)}</p></blockquote>"


# --- session --------------------------------------------------------------------------------


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, read without verifying: only to know when to refresh."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expiry = claims["exp"]
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return None
    return float(expiry) if isinstance(expiry, int | float) else None


@dataclass
class Session:
    access: str
    refresh: str

    def __repr__(self) -> str:
        return "Session(<tokens hidden>)"  # tokens never reach a log through a repr

    def fresh(self, now: float) -> bool:
        expiry = jwt_expiry(self.access)
        return expiry is None or expiry - now > REFRESH_MARGIN


def _session_from(payload: Any) -> Session:
    with reading("session answer"):
        return Session(identifier(payload["accessJwt"]), identifier(payload["refreshJwt"]))


# --- what each search still has to read, kept between runs -----------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Span:
    """Search results still to read: filed at `since` or later, and before `until` (None: now)."""

    since: datetime
    until: datetime | None = None

    def params(self) -> list[tuple[str, str]]:
        bounds = [("since", _iso(self.since))]
        return bounds + ([("until", _iso(self.until))] if self.until else [])


@dataclass
class Progress:
    """One search between runs: the newest time it read, and the stretches a run left unread."""

    newest: datetime | None = None
    owed: list[Span] = field(default_factory=list)  # newest first

    @classmethod
    def load(cls, raw: Any, newest: datetime | None) -> Progress:
        if not isinstance(raw, dict):
            return cls(newest)
        owed = [
            Span(since, until)
            for pair in raw.get("owed") or []
            if isinstance(pair, list) and len(pair) == 2
            if (since := parse_iso_datetime(pair[0])) and (until := parse_iso_datetime(pair[1]))
        ]
        return cls(parse_iso_datetime(raw.get("newest")), owed)

    def dump(self) -> dict[str, Any]:
        return {
            "newest": self.newest.isoformat() if self.newest else None,
            "owed": [[s.since.isoformat(), s.until.isoformat()] for s in self.owed if s.until],
        }


@dataclass
class Run:
    """What one run found across its searches, and the first failure that stopped it."""

    found: dict[str, Found] = field(default_factory=dict)
    pages: int = 0
    unreadable: int = 0
    error: CollectorError | None = None
    notice: str | None = None


@dataclass
class SpanRead:
    """How far one span's pages reached, and whether they reached its start."""

    newest: datetime | None = None
    oldest: datetime | None = None
    complete: bool = False

    def saw(self, page: list[Found]) -> None:
        times = [f.sort_time for f in page]
        if times:
            self.newest = max(times + ([self.newest] if self.newest else []))
            self.oldest = min(times + ([self.oldest] if self.oldest else []))


# --- the collector ---------------------------------------------------------------------------


class BlueskyCollector:
    def __init__(
        self, options: Options, context: CollectorContext, retry: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self.options = options
        self.context = context
        self.http = context.http
        self.env = context.env
        self.retry = retry
        self.hashtags = options.hashtags or bare_hashtags(context.hashtags)
        self.session: Session | None = None

    async def collect(self, state: SourceState) -> CollectResult:
        since = window_since(state.extra, self.options, self.context)
        searches = state.extra.get("searches")
        saved = searches if isinstance(searches, dict) else {}
        # A state from before searches kept their own progress: its cursor served them all.
        legacy = None if saved else parse_iso_datetime(state.cursor)
        run_budget = Budget(self.options.max_pages)
        run = Run()
        progress: dict[str, Any] = {}
        for query, params in self._searches():
            before = Progress.load(saved.get(query), legacy)
            budget = run_budget.share(self.options.max_pages)  # per search, one deadline
            after = await self._search(params, before, since, budget, run)
            progress[query] = after.dump()
        if run.error is not None and not run.pages:
            raise run.error
        return self._result(state, since, run, progress)

    def _result(
        self, state: SourceState, since: datetime, run: Run, progress: dict[str, Any]
    ) -> CollectResult:
        seen = set(state.extra.get("seen") or [])
        # A bare uri is what states saved before record versions were remembered hold.
        fresh = [
            f
            for f in run.found.values()
            if f.version not in seen and f.uri not in seen and f.sort_time >= since
        ]
        ordered = sorted(fresh, key=lambda f: f.sort_time)
        newest = [t for p in progress.values() if (t := parse_iso_datetime(p["newest"]))]
        cursor = max(newest).isoformat() if newest else state.cursor
        remembered = [*(state.extra.get("seen") or []), *(f.version for f in ordered)][-SEEN_KEPT:]
        extra = {**with_window(state.extra, since), "seen": remembered, "searches": progress}
        result = CollectResult(
            posts=[f.candidate for f in ordered if f.candidate],
            state=SourceState(cursor, None, None, extra),
            error=run.error,
            notice=run.notice,
        )
        if run.unreadable and result.error is None:
            result.error = CollectorError(
                ErrorKind.BAD_PAYLOAD, f"{run.unreadable} posts could not be read"
            )
        return result

    def _searches(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Each search, named by its query: that name keys its progress in the state."""
        # Several `tag` parameters would have to ALL match: one search per hashtag instead.
        common = [("sort", "latest"), ("limit", str(self.options.limit))]
        if self.options.query:
            return [(self.options.query, [("q", self.options.query), *common])]
        if not self.hashtags:
            raise CollectorError(ErrorKind.CONFIG, "no hashtag to search: set hashtags or query")
        return [(f"#{tag}", [("q", f"#{tag}"), ("tag", tag), *common]) for tag in self.hashtags]

    async def _search(
        self,
        params: list[tuple[str, str]],
        before: Progress,
        since: datetime,
        budget: Budget,
        run: Run,
    ) -> Progress:
        """What is newer than the search's newest time, then what earlier runs left owed."""
        start = max(before.newest - OVERLAP, since) if before.newest else since
        newer = SpanRead() if run.error else await self._read(params, Span(start), budget, run)
        newest = [t for t in (before.newest, newer.newest) if t]
        after = Progress(max(newest) if newest else None)
        if not newer.complete and newer.oldest:
            after.owed.append(Span(start, newer.oldest + TICK))
        rest = budget.rest()
        for span in before.owed:
            read = SpanRead() if run.error else await self._read(params, span, rest, run)
            if not read.complete:
                # What stays owed reaches up to the oldest post read, its instant included.
                after.owed.append(
                    Span(span.since, read.oldest + TICK if read.oldest else span.until)
                )
        if budget.hit and run.notice is None:
            run.notice = backlog_notice(budget, f"the search {dict(params)['q']}")
        return after

    async def _read(
        self, params: list[tuple[str, str]], span: Span, budget: Budget, run: Run
    ) -> SpanRead:
        """One span, newest page first, until it is read through or the run must stop."""
        read = SpanRead()
        cursor: str | None = None
        while budget.take():
            query = [*params, *span.params(), *([("cursor", cursor)] if cursor else [])]
            try:
                response = await self._xrpc("app.bsky.feed.searchPosts", query)
                page, cursor, odd = parse_search(json_body(response))
            except CollectorError as error:
                run.error = error
                return read
            run.pages += 1
            run.unreadable += odd
            run.found.update((f.uri, f) for f in page)
            read.saw(page)
            # Newest first: a page reaching back before `since` is the last one needed.
            if not cursor or not (page or odd) or (read.oldest and read.oldest < span.since):
                read.complete = True
                return read
        return read

    async def _xrpc(self, method: str, params: list[tuple[str, str]]) -> httpx.Response:
        for attempt in range(2):
            session = await self._session()
            response = await fetch(
                self.http,
                f"{self.options.service}/xrpc/{method}",
                params=params,
                headers={"Authorization": f"Bearer {session.access}"},
                accept=(400, 401),
                auth_hint=self._auth_hint(),
                retry=self.retry,
            )
            if response.is_success:
                return response
            if attempt == 0 and _xrpc_error(response) in TOKEN_REFUSED:
                # The server says so before our clock does: renew, then ask again once.
                self.session = await self._renewed(session)
                continue
            raise _refusal(response, self._auth_hint())
        raise AssertionError("unreachable")

    def _auth_hint(self) -> str:
        return f"Bluesky refused the handle {self.options.handle} or the app password in {self.options.app_password_env}"

    async def _session(self) -> Session:
        if self.session is None:
            self.session = await self._created()
        elif not self.session.fresh(time.time()):
            self.session = await self._renewed(self.session)
        return self.session

    async def _renewed(self, session: Session) -> Session:
        # Logging in again is limited (createSession: 30 per 5 minutes, 300 a day per
        # account); a refresh is not, so it comes first.
        return await self._refreshed(session) or await self._created()

    async def _created(self) -> Session:
        password = require_env(self.env, self.options.app_password_env)
        response = await fetch(
            self.http,
            f"{self.options.service}/xrpc/com.atproto.server.createSession",
            method="POST",
            json_body={"identifier": self.options.handle, "password": password},
            accept=(400,),
            auth_hint=self._auth_hint(),
            retry=self.retry,
        )
        if response.status_code == 400:
            # A wrong password is a 401; a 400 here is an account problem staff must fix too.
            raise CollectorError(ErrorKind.AUTH, f"{_describe(response)}: {self._auth_hint()}")
        return _session_from(json_body(response))

    async def _refreshed(self, session: Session) -> Session | None:
        response = await fetch(
            self.http,
            f"{self.options.service}/xrpc/com.atproto.server.refreshSession",
            method="POST",
            headers={"Authorization": f"Bearer {session.refresh}"},
            accept=(400, 401),
            retry=self.retry,
        )
        if not response.is_success:
            return None  # the refresh token expired too: log in again
        return _session_from(json_body(response))


def _xrpc_error(response: httpx.Response) -> str:
    try:
        return text(json.loads(response.content).get("error"))
    except (ValueError, AttributeError):
        return ""


def _describe(response: httpx.Response) -> str:
    name = _xrpc_error(response)
    where = f"HTTP {response.status_code} from {response.request.url}"
    return f"{where} ({name})" if name else where


def _refusal(response: httpx.Response, auth_hint: str) -> CollectorError:
    if response.status_code == 401:
        return error_for_status(response, auth_hint)
    return CollectorError(ErrorKind.HTTP_4XX, f"{_describe(response)}: the search was refused")


def create(options: Options, context: CollectorContext) -> BlueskyCollector:
    return BlueskyCollector(options, context)
