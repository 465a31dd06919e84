"""The hallway screens: a page per `[[screens]]` entry and its server-sent event stream.

Each event carries the store's change sequence as its id. A screen that reconnects sends
`Last-Event-ID` and is replayed every change after it, rendered from the post's state now:
a post that is no longer visible becomes a removal, so no replay can show what staff took
back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from aggregator.livewall import Livewall
from aggregator.models import Change, Post
from aggregator.settings import ScreenSettings
from aggregator.timeline import Filter, by_ids, latest
from wall.i18n import pick_language
from wall.templating import Templates

PING_SECONDS = 15.0
FIRST_PAGE = 30


def selection(screen: ScreenSettings) -> Filter:
    return Filter(screen.sources, screen.languages, screen.hashtags)


def sse(event: str, data: str, event_id: int | None = None) -> str:
    """One server-sent event; every line of the data gets its own `data:` field."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


class ScreenViews:
    def __init__(self, app: Livewall, templates: Templates) -> None:
        self.app = app
        self.templates = templates

    def routes(self) -> list[Route]:
        return [
            Route("/wall/", self.index),
            Route("/wall/{screen}", self.page),
            Route("/wall/{screen}/events", self.events),
        ]

    def _screen(self, request: Request) -> ScreenSettings:
        screen = self.app.settings.screen(request.path_params["screen"])
        if screen is None:
            raise HTTPException(404, f"no screen named {request.path_params['screen']!r}")
        return screen

    def language(self, request: Request, screen: ScreenSettings | None = None) -> str:
        languages = self.app.settings.event.languages
        default = (screen.lang if screen else None) or languages[0]
        return pick_language(request.query_params.get("lang"), default, languages)

    async def index(self, request: Request) -> Response:
        return self.templates.response(
            "wall/index.html",
            self.language(request),
            event=self.app.settings.event,
            screens=self.app.settings.screens,
            public_url=self.app.settings.server.public_url,
        )

    async def page(self, request: Request) -> Response:
        screen = self._screen(request)
        # The sequence is read before the posts: a change in between is replayed, not lost.
        seq = await anyio.to_thread.run_sync(self.app.store.last_seq)
        posts = await anyio.to_thread.run_sync(
            lambda: latest(
                self.app.store, FIRST_PAGE, selection=selection(screen), pinned_first=True
            )
        )
        return self.templates.response(
            "wall/screen.html",
            self.language(request, screen),
            event=self.app.settings.event,
            screen=screen,
            posts=posts,
            seq=seq,
        )

    async def events(self, request: Request) -> Response:
        screen = self._screen(request)
        start = _resume_point(request)
        if start is None:
            start = await anyio.to_thread.run_sync(self.app.store.last_seq)
        language = self.language(request, screen)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            self._stream(screen, start, language), media_type="text/event-stream", headers=headers
        )

    async def _stream(self, screen: ScreenSettings, seq: int, language: str) -> AsyncIterator[str]:
        yield f"retry: 3000\nevent: hello\ndata: {self.templates.assets.version}\n\n"
        while True:
            changes = await anyio.to_thread.run_sync(self.app.feed.since, seq)
            if changes:
                for chunk in await anyio.to_thread.run_sync(
                    self._render, changes, screen, language
                ):
                    yield chunk
                seq = changes[-1].seq or seq
                continue
            moved = await self.app.feed.wait_beyond(seq, PING_SECONDS)
            if moved <= seq:
                yield ": ping\n\n"  # keeps proxies (nginx: 60 s) from closing a quiet stream

    def _render(self, changes: list[Change], screen: ScreenSettings, language: str) -> list[str]:
        changes = [c for c in changes if c.kind != "queue"]  # the console's, never a screen's
        ids = [c.post_id for c in changes if c.post_id is not None]
        with self.app.store.read() as session:
            posts = by_ids(session, ids)
        wanted = selection(screen)
        return [self._event(c, posts.get(c.post_id or -1), wanted, language) for c in changes]

    def _event(self, change: Change, post: Post | None, wanted: Filter, language: str) -> str:
        if change.post_id is None:
            return sse(change.kind, _json(change.payload), change.seq)
        if post is None or not post.visible or not wanted.accepts(post):
            return sse("remove", str(change.post_id), change.seq)
        card = self.templates.render("_post.html", language, post=post)
        return sse("post", card, change.seq)


def _resume_point(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    try:
        return max(int(raw), 0) if raw else None
    except ValueError:
        return None


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)
