"""The hallway screens: a page per `[[screens]]` entry and its server-sent event stream.

Each event carries the store's change sequence as its id. A screen that reconnects sends
`Last-Event-ID` (or `?after=`) and is replayed every change after it, rendered from the
post's state now: a post that is no longer visible becomes a removal, so no replay can
show what staff took back. Changes meant for other screens are sent as a bare `seq`
event, so every screen's last id keeps up and a resume never reads them again.

Streams at the same point share their work: one wait on the change feed, one query and one
render per (after-seq, screen, language) however many screens wait there (see `Batches`), so a
change wakes each stream once, with its events ready, as a bare broadcast would.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import segno
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from aggregator import messages
from aggregator.application import Livewall
from aggregator.models import Change, Post, utcnow
from aggregator.settings import ScreenSettings
from aggregator.timeline import Filter
from wall.i18n import chosen_language, remembered_language, switch_links
from wall.params import resume_point
from wall.security import screen_csp
from wall.templating import Templates

PING_SECONDS = 15.0
NOTHING_YET_SECONDS = 0.1
BATCH_SECONDS = 5.0  # how long a rendered batch may serve a screen that arrives late
BATCH_ENTRIES = 128
# A screen resuming further behind than this many changes starts over from a fresh page
# (one cheap query) instead of a replay; it is also the most one batch reads.
REPLAY_WINDOW = 500
# Replays are the one work screens cannot share: a few at a time (the host has few cores),
# a short line behind them, and 503 with Retry-After beyond.
REPLAYS_AT_ONCE = 2
REPLAYS_WAITING = 16
RETRY_AFTER_SECONDS = 5
FIRST_PAGE = 30
# Networks with an icon in static/icons/; any other shows the generic web icon.
NETWORK_ICONS = frozenset(
    ("mastodon", "bluesky", "youtube", "feed", "web", "x", "instagram", "facebook", "linkedin")
)
EVENT_NAME = re.compile(r"^event: (\w+)$", re.MULTILINE)
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
EMBED = "https://www.youtube-nocookie.com/embed/{}?autoplay=1&mute=1&playsinline=1&rel=0"


def selection(screen: ScreenSettings) -> Filter:
    return Filter(screen.sources, screen.languages, screen.hashtags)


def sse(event: str, data: str, event_id: int | None = None) -> str:
    """One server-sent event; every line of the data gets its own `data:` field."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def youtube_embed(url: str | None) -> str | None:
    """The privacy-enhanced player of a YouTube watch URL, or None for anything else."""
    if not url:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    if host == "youtu.be":
        video = parts.path.strip("/")
    elif host == "youtube.com":
        video = (parse_qs(parts.query).get("v") or [""])[0] or parts.path.rsplit("/", 1)[-1]
    else:
        return None
    return EMBED.format(video) if VIDEO_ID.match(video) else None


def live_stream(app: Livewall) -> dict[str, Any]:
    """The official broadcast live now, if any (blocking: call from a thread)."""
    for post in app.posts.live_broadcasts():
        embed = youtube_embed(post.url)
        if embed:
            return {"live": True, "post_id": post.id, "embed": embed, "title": post.title}
    return {"live": False}


def qr_code(url: str) -> Markup:
    """An inline SVG QR code (drawn by the server: no third-party QR service). Its text
    alternative is on the element that holds it (see screen.html): the drawing itself is hidden."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=1, dark="#000", light="#fff", border=2, omitsize=True)
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))


BatchKey = tuple[int, str, str]  # after-seq, screen name, language
Rendered = tuple[list[str], int]  # the events, and the sequence they bring a screen to
# The work of a batch: (after-seq, screen, language, stop) -> Rendered. It checks `stop` as it
# goes and raises Abandoned once it is set, so a render nobody waits for ends early.
Work = Callable[[int, ScreenSettings, str, threading.Event], Rendered]
# How a batch waits for the change sequence to pass a point: (seq, timeout) -> the sequence now.
Moved = Callable[[int, float], Awaitable[int]]


class Abandoned(Exception):
    """Raised by a batch's work when every screen that waited for it has gone."""


class Busy(Exception):
    """Too many replays are being rendered or wait their turn: come back in a few seconds."""


class Quiet(Exception):
    """Nothing changed after the point a screen waits at for a while: time for a ping."""


@dataclass
class Batch:
    task: asyncio.Future[Rendered]
    stop: threading.Event
    made: float = field(default_factory=time.monotonic)
    waiters: int = 0
    # The streams waiting for it, woken all at once when it ends or has been quiet too long:
    # one wake-up each (a shield per stream cost two, and a timer per stream one more).
    listeners: set[asyncio.Future[None]] = field(default_factory=set)
    quiet: asyncio.TimerHandle | None = None

    def wake(self) -> None:
        for listener in self.listeners:
            if not listener.done():
                listener.set_result(None)

    def end(self, _: object) -> None:
        if self.quiet is not None:
            self.quiet.cancel()
        self.wake()


class Replays:
    """How many replays may render at once and wait their turn, and what became of them."""

    def __init__(self, at_once: int = REPLAYS_AT_ONCE, waiting: int = REPLAYS_WAITING) -> None:
        self.at_once = at_once
        self.waiting = waiting
        self.slots = asyncio.Semaphore(at_once)
        self.pending = 0  # rendering or waiting their turn
        self.started = 0
        self.abandoned = 0

    @property
    def full(self) -> bool:
        return self.pending >= self.at_once + self.waiting


class Batches:
    """The events after a sequence for a screen and language, rendered once for every stream there.

    Screens that are up to date wait at their sequence on one batch: it alone waits for the
    change feed to move past that point (`moved`), then queries and renders once, and only then
    are the screens woken, each once, with their events ready. A finished batch serves a screen
    that arrives later only while no change past it is known and for `keep_seconds`, so a
    stream still gets each post's current state, and every change after its sequence exactly
    once and in order (a batch holds all the changes after its sequence up to its end).

    Replays (screens resuming from behind, each from its own point) rarely share: they take
    turns, `replays.at_once` at a time with `replays.waiting` more in line, and beyond that
    are refused (`Busy`). Work that every waiting screen has left is stopped, not finished.
    """

    def __init__(
        self,
        work: Work,
        current: Callable[[], int],
        moved: Moved | None = None,
        keep_seconds: float = BATCH_SECONDS,
        size: int = BATCH_ENTRIES,
        replays: Replays | None = None,
        quiet_seconds: float = PING_SECONDS,
    ) -> None:
        self.work = work
        self.current = current
        self.moved = moved  # None: render at once, whatever the sequence
        self.keep_seconds = keep_seconds
        self.size = size
        self.replays = replays or Replays()
        self.quiet_seconds = quiet_seconds
        self.entries: dict[BatchKey, Batch] = {}

    def admits(self, seq: int, screen: ScreenSettings, language: str) -> bool:
        """Whether a replay from `seq` would be rendered (or shared) rather than refused."""
        batch = self.entries.get((seq, screen.name, language))
        return (batch is not None and self._usable(batch)) or not self.replays.full

    async def after(
        self,
        seq: int,
        screen: ScreenSettings,
        language: str,
        replay: bool = False,
    ) -> Rendered:
        """The events after `seq`, once there are some; `Quiet` when there were none for
        `quiet_seconds` (every stream waiting there hears it at once)."""
        key = (seq, screen.name, language)
        batch = self.entries.get(key)
        if batch is None or not self._usable(batch):
            self._prune()
            batch = self.entries[key] = self._start(seq, screen, language, replay)
        batch.waiters += 1
        try:
            return await _result(batch)
        except Quiet:
            raise
        except Exception:
            self._forget(key, batch)  # the next screen tries again
            raise
        finally:
            batch.waiters -= 1
            if batch.waiters == 0 and not batch.task.done():
                # …but once none waits, nobody will read it: stop instead of finishing.
                batch.stop.set()
                batch.task.cancel()
                self._forget(key, batch)

    def _start(self, seq: int, screen: ScreenSettings, language: str, replay: bool) -> Batch:
        if replay and self.replays.full:
            raise Busy(f"{self.replays.pending} replays already under way")
        stop = threading.Event()
        call = functools.partial(self.work, seq, screen, language, stop)
        if replay:
            self.replays.pending += 1
            task = asyncio.ensure_future(self._replay(call, stop))
            task.add_done_callback(self._replay_done)
        else:
            task = asyncio.ensure_future(self._live(seq, call, stop))
        task.add_done_callback(_retrieve)
        batch = Batch(task, stop)
        batch.quiet = asyncio.get_running_loop().call_later(self.quiet_seconds, self._hush, batch)
        task.add_done_callback(batch.end)
        return batch

    def wake_all(self) -> None:
        """Wake every stream waiting for a change, as if it had been quiet for long."""
        for batch in list(self.entries.values()):
            if not batch.task.done():
                batch.wake()

    def _hush(self, batch: Batch) -> None:
        """Quiet for a while: every stream waiting sends its ping and comes back."""
        if not batch.task.done():
            batch.wake()
            batch.quiet = asyncio.get_running_loop().call_later(
                self.quiet_seconds, self._hush, batch
            )

    async def _live(
        self, seq: int, call: Callable[[], Rendered], stop: threading.Event
    ) -> Rendered:
        """Wait for a change past `seq` (once for every screen there), then render it."""
        while self.moved is not None and self.current() <= seq:
            await self.moved(seq, PING_SECONDS)
        return await _until_stopped(call, stop)

    async def _replay(self, call: Callable[[], Rendered], stop: threading.Event) -> Rendered:
        async with self.replays.slots:
            self.replays.started += 1
            return await _until_stopped(call, stop)

    def _replay_done(self, task: asyncio.Future[Rendered]) -> None:
        self.replays.pending -= 1
        if task.cancelled():
            self.replays.abandoned += 1

    def _forget(self, key: BatchKey, batch: Batch) -> None:
        if self.entries.get(key) is batch:
            del self.entries[key]

    def _usable(self, batch: Batch) -> bool:
        if not batch.task.done():
            return True  # started after this screen's change was known: as fresh as a new one
        if batch.task.cancelled() or batch.task.exception() is not None:
            return False
        if time.monotonic() - batch.made > self.keep_seconds:
            return False
        # A change past the batch may have altered a post it shows: render again.
        return self.current() <= batch.task.result()[1]

    def _prune(self) -> None:
        for key, batch in list(self.entries.items()):
            if batch.task.done() and not self._usable(batch):
                del self.entries[key]
        finished = [key for key, batch in self.entries.items() if batch.task.done()]
        for key in finished[: max(len(self.entries) - self.size + 1, 0)]:
            del self.entries[key]  # oldest first: dicts keep insertion order


async def _result(batch: Batch) -> Rendered:
    if not batch.task.done():
        # A future of this stream's own: one screen going away cancels only its own wait,
        # never the work the others await.
        listener = asyncio.get_running_loop().create_future()
        batch.listeners.add(listener)
        try:
            await listener
        finally:
            batch.listeners.discard(listener)
    if not batch.task.done() or batch.task.cancelled():
        raise Quiet("no change yet")
    return batch.task.result()


async def _until_stopped(call: Callable[[], Rendered], stop: threading.Event) -> Rendered:
    """`call` in a thread. A thread cannot be cancelled: a cancellation sets `stop`, which the
    work checks between posts, and waits for the thread to end, so a replay's turn is only
    given to the next one once the CPU it used is free."""
    thread = asyncio.ensure_future(anyio.to_thread.run_sync(call))
    thread.add_done_callback(_retrieve)
    try:
        return await asyncio.shield(thread)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([thread])
        raise


def _retrieve(task: asyncio.Future[Rendered]) -> None:
    """Mark a failure as seen even when every screen waiting for it has gone."""
    if not task.cancelled():
        task.exception()


class ScreenViews:
    def __init__(self, app: Livewall, templates: Templates) -> None:
        self.app = app
        self.templates = templates
        self.batches = Batches(self._batch, lambda: app.feed.seq, app.feed.wait_beyond)
        self.open_streams = 0
        self.closing = False
        # The last batch sent and its counters: a thousand streams send the same one in a row.
        self._joined: tuple[list[str], str] = ([], "")
        self._counted_chunk: str | None = None
        self._chunk_counters: list[Any] = []

    def close(self) -> int:
        """End every screen's stream (the server is stopping; screens reconnect on their own
        to the next one); return how many were open. Call it on the event loop's thread."""
        self.closing = True
        self.batches.wake_all()
        return self.open_streams

    def routes(self) -> list[Route]:
        return [
            Route("/wall/", self.index),
            Route("/wall/sw.js", self.service_worker),
            Route("/wall/{screen}", self.page),
            Route("/wall/{screen}/events", self.events),
        ]

    def warm(self) -> None:
        """Do at start what the first change would otherwise make every screen wait for
        (blocking): each language's card and page compiled, the stream's queries compiled on
        the store's connections."""
        seq = self.app.store.last_seq()
        self.app.feed.since(seq, 1)
        self.app.posts.by_ids([0])
        # One screen is enough: they share the templates and the queries.
        screen = self.app.settings.screens[0] if self.app.settings.screens else None
        if screen is None:
            return
        state = self._first_render(screen)
        for language in self.app.settings.event.languages:
            card = self.templates.render(
                "_post.html", language, post=_sample(language), layout=screen.layout
            )
            assert card and self._page_html(screen, language, state)

    def _screen(self, request: Request) -> ScreenSettings:
        screen = self.app.settings.screen(request.path_params["screen"])
        if screen is None:
            raise HTTPException(404, f"no screen named {request.path_params['screen']!r}")
        return screen

    def language(self, request: Request, screen: ScreenSettings | None = None) -> str:
        """`?lang=`, then the screen's own language (a TV in the hall is set up for it), then
        this browser's choice (cookie), then the event's first language."""
        languages = self.app.settings.event.languages
        own = screen.lang if screen else None
        return chosen_language(request, languages, own, remembered_language(request))

    def scan_url(self, screen: ScreenSettings) -> str:
        return screen.qr_url or f"{self.app.settings.server.public_url}/wall/{screen.name}"

    async def service_worker(self, request: Request) -> Response:
        """wall-sw.js, served under /wall/ so that it may control the screens' pages."""
        script = self.templates.assets.directory / "wall-sw.js"
        return Response(
            await anyio.Path(script).read_bytes(),
            media_type="text/javascript",
            # Browsers look for a new worker on each visit; no cache lets them see it at once.
            headers={"Cache-Control": "no-cache"},
        )

    async def index(self, request: Request) -> Response:
        language = self.language(request)
        return self.templates.response(
            "wall/index.html",
            language,
            switch=switch_links(request, self.app.settings.event.languages, language),
            event=self.app.settings.event,
            screens=self.app.settings.screens,
            public_url=self.app.settings.server.public_url,
        )

    async def page(self, request: Request) -> Response:
        screen = self._screen(request)
        state = await anyio.to_thread.run_sync(self._first_render, screen)
        language = self.language(request, screen)
        response = HTMLResponse(self._page_html(screen, language, state))
        response.headers["Content-Security-Policy"] = screen_csp(
            screen.embed_origins, screen.show_stream
        )
        response.headers["Cache-Control"] = "no-cache"
        return response

    def _page_html(self, screen: ScreenSettings, language: str, state: dict[str, Any]) -> str:
        return self.templates.render(
            "wall/screen.html",
            language,
            event=self.app.settings.event,
            screen=screen,
            qr=qr_code(self.scan_url(screen)),
            scan_url=self.scan_url(screen),
            # The server's clock: a screen whose own clock is off still keeps slides' times.
            now=utcnow().isoformat(),
            **state,
        )

    def _first_render(self, screen: ScreenSettings) -> dict[str, Any]:
        # The sequence is read before the posts: a change in between is replayed, not lost.
        seq = self.app.store.last_seq()
        posts = self.app.posts.latest(FIRST_PAGE, selection=selection(screen), pinned_first=True)
        stream = live_stream(self.app) if screen.show_stream else {"live": False}
        shown = [m.payload() for m in messages.active(self.app.store, screen.name)]
        # Every slide not yet over: the screen keeps their schedule itself, offline too.
        slides = [s.payload() for s in self.app.slides.pending(screen.name)]
        return {"seq": seq, "posts": posts, "stream": stream, "messages": shown, "slides": slides}

    async def events(self, request: Request) -> Response:
        screen = self._screen(request)
        language = self.language(request, screen)
        start, current = await self._resume(resume_point(request))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if current - start > REPLAY_WINDOW:
            stream = self._start_over("behind")
        elif start > current:  # a point the store never reached: another database's history
            stream = self._start_over("ahead")
        elif start < current and not self.batches.admits(start, screen, language):
            return Response(
                "too many screens are catching up at once: try again in a few seconds",
                status_code=503,
                media_type="text/plain",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
            )
        else:
            stream = self._stream(screen, start, language, replay=start < current)
        return StreamingResponse(
            self._counted(stream), media_type="text/event-stream", headers=headers
        )

    async def _counted(self, stream: AsyncIterator[str]) -> AsyncIterator[str]:
        """The stream, counted in the metrics: open while it runs, each event by name."""
        metrics = self.app.metrics
        metrics.streams_open.inc()
        self.open_streams += 1
        try:
            async for chunk in stream:
                yield chunk
                for counter in self._counters(chunk):
                    counter.inc()
        finally:
            metrics.streams_open.dec()
            self.open_streams -= 1

    def _counters(self, chunk: str) -> list[Any]:
        """The event counters of a chunk, found once for all the streams that send it (a
        batch's events are one string, shared: see `_payload`)."""
        if chunk is not self._counted_chunk:
            names = EVENT_NAME.findall(chunk)
            self._counted_chunk = chunk
            self._chunk_counters = [self.app.metrics.events_sent.labels(n) for n in names]
        return self._chunk_counters

    def _payload(self, chunks: list[str]) -> str:
        """A batch's events as one string, joined once for every stream that sends it."""
        if chunks is not self._joined[0]:
            self._joined = (chunks, "".join(chunks))
        return self._joined[1]

    async def _resume(self, asked: int | None) -> tuple[int, int]:
        """(where the stream starts, the store's sequence now)."""
        known = self.app.feed.seq
        if asked is not None and asked <= known:
            return asked, known  # the common case costs no query
        # Ahead of this process's feed: the store may know more (a worker's fresh change).
        last = await anyio.to_thread.run_sync(self.app.store.last_seq)
        return (last if asked is None else asked), max(last, known)

    def _hello(self) -> str:
        return f"retry: 3000\nevent: hello\ndata: {self.templates.assets.version}\n\n"

    async def _start_over(self, reason: str) -> AsyncIterator[str]:
        """No replay can bring this screen up to date cheaply: it reloads its page (the newest
        posts as they are now, one query) and resumes from there. The stream then ends, and
        the screen's last id stays where it was until the reload."""
        yield self._hello()
        yield sse("screen", _json({"action": "reload", "reason": reason}))

    async def _stream(
        self, screen: ScreenSettings, seq: int, language: str, replay: bool
    ) -> AsyncIterator[str]:
        yield self._hello()
        while not self.closing:
            try:
                chunks, last = await self.batches.after(seq, screen, language, replay)
            except Busy:
                return  # too many replays after all: the screen comes back with backoff
            except Quiet:
                if self.closing:
                    return
                # An event, not a comment: it keeps proxies (nginx: 60 s) from closing a quiet
                # stream, and lets the screen see that a silent stream is still alive.
                yield "event: ping\ndata: 1\n\n"
                continue
            replay = False  # only the first batch is this screen's own; later ones are shared
            if last > seq:
                yield self._payload(chunks)  # one write for the whole batch
                seq = last
            else:
                # The feed moved but the store showed nothing new yet: do not spin on it.
                await anyio.sleep(NOTHING_YET_SECONDS)

    def _batch(
        self, seq: int, screen: ScreenSettings, language: str, stop: threading.Event
    ) -> Rendered:
        """The events after `seq` for one screen (blocking: run in a thread)."""
        changes = self.app.feed.since(seq, REPLAY_WINDOW)
        if not changes:
            return [], seq
        return self._render(changes, screen, language, stop), changes[-1].seq or seq

    def _render(
        self, changes: list[Change], screen: ScreenSettings, language: str, stop: threading.Event
    ) -> list[str]:
        last = changes[-1]
        changes = [c for c in changes if c.kind != "queue"]  # the console's, never a screen's
        ids = [c.post_id for c in changes if c.post_id is not None]
        posts = self.app.posts.by_ids(ids)
        wanted = selection(screen)
        chunks = []
        for change in changes:
            if stop.is_set():
                raise Abandoned("no screen waits for this batch any more")
            chunks.append(
                self._event(change, posts.get(change.post_id or -1), wanted, screen, language)
            )
        if screen.show_stream and any(p.kind == "live" for p in posts.values()):
            # Recomputed, not derived from the change: a resume always lands on the truth.
            chunks.append(sse("stream", _json(live_stream(self.app))))
        if last.kind == "queue":
            # The screen's last id keeps up with the console's changes too (a held edit is one),
            # so a resume never reads them again and a screen is never seen behind.
            chunks.append(sse("seq", str(last.seq), last.seq))
        return chunks

    def _event(
        self,
        change: Change,
        post: Post | None,
        wanted: Filter,
        screen: ScreenSettings,
        language: str,
    ) -> str:
        if change.post_id is None:
            if not _for_screen(change, screen.name):
                return sse("seq", str(change.seq), change.seq)
            return sse(change.kind, _json(change.payload), change.seq)
        if post is None or not post.visible or not wanted.accepts(post):
            return sse("remove", str(change.post_id), change.seq)
        card = self.templates.render("_post.html", language, post=post, layout=screen.layout)
        return sse("post", card, change.seq)


def _sample(language: str) -> Post:
    """A post that takes every branch of the card worth compiling (never stored nor shown)."""
    now = datetime.now(UTC)
    return Post(
        id=0,
        source="warm-up",
        external_id="warm-up",
        network="mastodon",
        author_handle="@livewall",
        author_name="livewall",
        author_avatar="https://example.org/avatar.png",
        text="Bienvenue",
        html="<p>Bienvenue</p>",
        language=language,
        created_at=now,
        collected_at=now,
        media=[{"type": "image", "url": "https://example.org/photo.jpg", "alt": "photo"}],
        status="approved",
        pinned=True,
        official=True,
    )


def _for_screen(change: Change, name: str) -> bool:
    if change.screen is not None and change.screen != name:
        return False
    if change.kind in ("message", "slide"):
        wanted = change.payload.get("screens") or []
        return not wanted or name in wanted
    return True


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)
