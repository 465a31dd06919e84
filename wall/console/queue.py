"""The moderation queue: posts to decide, live over SSE, decided by key, in bulk, with undo.

The console's stream follows the same change feed as the screens. Every change that
names a post (shown, removed, or "queue": arrived held, decided without touching any
screen) sends that post's card as it is now, or its removal from this moderator's
filtered list. Decisions pass the status the moderator saw, so a post decided by someone
else in between is refused with 409 instead of being decided twice.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from aggregator.accounts import Staff
from aggregator.models import Change, Post
from aggregator.moderation import edits
from aggregator.moderation.decisions import ACTIONS, NEW_STATUS, ModerationError, Outcome
from aggregator.moderation.queue import STATUSES, QueueFilter
from aggregator.moderation.rules import Rules, normalize_handle
from wall.bodies import read_json
from wall.console.common import Console
from wall.console.preferences import shortcuts_on
from wall.console.waiting import WaitingEvents
from wall.i18n import translations
from wall.params import BadRequest, resume_point, whole
from wall.screens import sse
from wall.security import FRAMED_BY_CONSOLE

PAGE = 200
UNDO_SECONDS = 10
# The browser's undo may arrive a moment after its 10 s toast: allow for the round trip.
UNDO_LIFETIME = timedelta(seconds=UNDO_SECONDS + 2)
PING_SECONDS = 15.0


def author_state(rules: Rules, handle: str) -> str | None:
    folded = normalize_handle(handle)
    if folded in rules.banned:
        return "banned"
    return "trusted" if folded in rules.trusted else None


_BLOCKED = re.compile(r"blocked word « (?P<word>.+) » \((?P<lang>\w+)\)")
_FLOOD = re.compile(
    r"flood: the same text from (?P<count>\d+) accounts within (?P<minutes>\d+) min"
)


def reason_text(reason: str | None, gettext: Callable[[str], str]) -> str | None:
    """The rules write their reasons in English; moderators read them in their language."""
    if not reason:
        return None
    if match := _BLOCKED.fullmatch(reason):
        return gettext("blocked word « %(word)s » (%(lang)s)") % match.groupdict()
    if match := _FLOOD.fullmatch(reason):
        return gettext("flood: the same text from %(count)s accounts within %(minutes)s min") % (
            match.groupdict()
        )
    return gettext(reason)


class QueueViews:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [
            Route("/console", require(self.page)),
            Route("/console/events", require(self.events)),
            Route("/console/api/queue", require(self.listing)),
            Route("/console/api/decide", require(self.decide), methods=["POST"]),
            Route("/console/api/undo", require(self.undo), methods=["POST"]),
            Route("/console/posts/{post_id:int}/preview", require(self.preview)),
        ]

    # Reading

    def _load(self, wanted: QueueFilter) -> tuple[list[Post], int, list[str], list[str], Rules]:
        moderation = self.console.app.moderation
        found = moderation.page(wanted, PAGE)
        sources = [s.name for s in self.console.app.settings.sources]
        return found.posts, found.count, sources, found.languages, moderation.rules()

    def card(self, post: Post, rules: Rules, language: str) -> str:
        gettext = translations(language).gettext
        edit = edits.pending(post)
        edit_reason = (post.pending_edit or {}).get("reason")
        return self.console.templates.render(
            "console/_card.html",
            language,
            post=post,
            edit=edit,
            version=edits.version(post),
            author_state=author_state(rules, post.author_handle),
            reason=reason_text(edit_reason if edit else post.status_reason, gettext),
        )

    async def page(self, request: Request, staff: Staff) -> Response:
        wanted = QueueFilter.from_params(request.query_params)
        posts, count, sources, languages, rules = await self.console.run(self._load, wanted)
        language = self.console.language(request)
        seq = await self.console.run(self.console.store.last_seq)
        cards = [self.card(p, rules, language) for p in posts]
        return self.console.page(
            request,
            staff,
            "console/queue.html",
            cards=cards,
            count=count,
            wanted=wanted,
            statuses=STATUSES,
            sources=sources,
            languages=languages,
            seq=seq,
            undo_seconds=UNDO_SECONDS,
            shortcuts=shortcuts_on(staff),
        )

    async def preview(self, request: Request, staff: Staff) -> Response:
        """The post's card exactly as a screen draws it (same template, same stylesheet),
        whatever its status: moderators see what approving it would put in the hallway."""
        post_id = whole(request.path_params["post_id"], "the post id")
        post = await self.console.run(self._post, post_id)
        if post is None:
            raise HTTPException(404, f"no post {post_id}")
        settings = self.console.app.settings
        # In the first screen's theme: the one staff set up first, usually the main hall.
        screen = settings.screens[0] if settings.screens else None
        response = self.console.templates.response(
            "console/preview.html",
            self.console.language(request),
            post=post,
            theme=screen.theme if screen else "dark",
            screen=screen.name if screen else None,
            event=settings.event,
        )
        # Framed by the console's own pages only.
        response.headers["Content-Security-Policy"] = FRAMED_BY_CONSOLE
        return response

    def _post(self, post_id: int) -> Post | None:
        return self.console.app.posts.get(post_id)

    async def listing(self, request: Request, staff: Staff) -> Response:
        """The queue as JSON, for scripts with an API token."""
        wanted = QueueFilter.from_params(request.query_params)
        posts, count, _sources, _languages, _rules = await self.console.run(self._load, wanted)
        rows = [
            {"id": p.id, "status": p.status, "source": p.source, "author": p.author_handle,
             "text": p.text, "reason": p.status_reason, "url": p.url}
            for p in posts
        ]  # fmt: skip
        return JSONResponse({"count": count, "posts": rows})

    # The live stream

    async def events(self, request: Request, staff: Staff) -> Response:
        wanted = QueueFilter.from_params(request.query_params)
        resumed = resume_point(request)
        store = self.console.store
        start = resumed if resumed is not None else await self.console.run(store.last_seq)
        language = self.console.language(request)
        # The console's other pages follow only what waits (title, favicon, notifications).
        cards = request.query_params.get("only") != "waiting"
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            self._stream(wanted, start, language, cards),
            media_type="text/event-stream",
            headers=headers,
        )

    async def _stream(
        self, wanted: QueueFilter, seq: int, language: str, cards: bool = True
    ) -> AsyncIterator[str]:
        feed = self.console.app.feed
        yield "retry: 2000\nevent: hello\ndata: console\n\n"
        told = WaitingEvents(self.console)
        yield await told.next() or ""
        while True:
            changes = await self.console.run(feed.since, seq)
            if changes:
                if cards:
                    for chunk in await self.console.run(self._render, changes, wanted, language):
                        yield chunk
                else:
                    yield sse("seq", "", changes[-1].seq)
                seq = changes[-1].seq or seq
                if waiting := await told.next():
                    yield waiting
                continue
            if await feed.wait_beyond(seq, PING_SECONDS) <= seq:
                yield ": ping\n\n"

    def _render(self, changes: list[Change], wanted: QueueFilter, language: str) -> list[str]:
        # Several changes of one post in a batch: its current state once, at its last seq.
        last = {c.post_id: c.seq for c in changes if c.post_id is not None}
        posts = self.console.app.posts.by_ids(list(last))
        rules = self.console.app.moderation.rules()
        events = []
        for post_id, seq in sorted(last.items(), key=lambda item: item[1] or 0):
            post = posts.get(post_id or -1)
            if post is None or not wanted.accepts(post):
                events.append(sse("gone", str(post_id), seq))
            else:
                events.append(sse("card", self.card(post, rules, language), seq))
        if not events:  # keep the client's resume point moving past non-post changes
            events.append(sse("seq", "", changes[-1].seq))
        return events

    # Deciding

    async def decide(self, request: Request, staff: Staff) -> Response:
        _ = self.console.gettext(request)
        try:
            action, items, wanted = _decision_request(await read_json(request))
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        language = self.console.language(request)
        results, outcomes = await self.console.run(
            self._decide_all, staff, action, items, wanted, language
        )
        status = 409 if all(not r["ok"] for r in results) else 200
        return JSONResponse({"results": results, "undo": bool(outcomes)}, status_code=status)

    def _decide_all(
        self,
        staff: Staff,
        action: str,
        items: list[Item],
        wanted: QueueFilter,
        language: str,
    ) -> tuple[list[dict[str, Any]], list[Outcome]]:
        moderation, metrics = self.console.app.moderation, self.console.app.metrics
        selection = [
            (post_id, seen, seen_version) if action in NEW_STATUS else (post_id, None, None)
            for post_id, seen, seen_version in items
        ]
        started = time.perf_counter()
        outcomes, refused = moderation.decide_all(selection, action, staff.name)
        # Each decision, timed to its change published: what a screen waits for after the click.
        took = time.perf_counter() - started
        for _ in outcomes:
            metrics.decision_seconds.labels(action=action).observe(took)
        errors = {
            post_id: self._conflict(post_id, exc, language) for post_id, exc in refused.items()
        }
        if outcomes:  # in the store: the undo may reach another web process
            moderation.remember_undo(_undo_key(staff), outcomes, UNDO_LIFETIME)
        return self._results([i for i, _, _ in items], errors, wanted, language), outcomes

    def _conflict(self, post_id: int, error: ModerationError, language: str) -> str:
        gettext = translations(language).gettext
        post = self.console.app.posts.get(post_id)
        if post is None or error.status != 409:
            return error.message
        if error.kind == "edited":
            return gettext("Edited at its source since you saw it: read it again.")
        return gettext("Already %(status)s by %(who)s: nothing was changed.") % {
            "status": gettext(post.status),
            "who": post.decided_by or gettext("the rules"),
        }

    def _results(
        self, ids: list[int], errors: dict[int, str], wanted: QueueFilter, language: str
    ) -> list[dict[str, Any]]:
        posts = self.console.app.posts.by_ids(ids)
        rules = self.console.app.moderation.rules()
        results = []
        for post_id in ids:
            post = posts.get(post_id)
            shown = post is not None and wanted.accepts(post)
            results.append(
                {
                    "id": post_id,
                    "ok": post_id not in errors,
                    "error": errors.get(post_id),
                    "status": post.status if post else None,
                    "card": self.card(post, rules, language) if post and shown else None,
                }
            )
        return results

    async def undo(self, request: Request, staff: Staff) -> Response:
        _ = self.console.gettext(request)
        outcomes = await self.console.run(self.console.app.moderation.take_undo, _undo_key(staff))
        if not outcomes:
            return JSONResponse({"error": _("Nothing to undo any more.")}, status_code=409)
        try:
            body = await read_json(request)
        except BadRequest:
            body = {}
        wanted = QueueFilter.from_query(
            str(body.get("filter", "")) if isinstance(body, dict) else ""
        )
        results = await self.console.run(
            self._restore_all, staff, outcomes, wanted, self.console.language(request)
        )
        return JSONResponse({"results": results})

    def _restore_all(
        self, staff: Staff, outcomes: list[Outcome], wanted: QueueFilter, language: str
    ) -> list[dict[str, Any]]:
        self.console.app.moderation.restore_all(outcomes, staff.name)
        return self._results([o.post_id for o in outcomes], {}, wanted, language)


def _undo_key(staff: Staff) -> str:
    return str(staff.session_id) if staff.session_id is not None else staff.name


Item = tuple[int, str | None, str | None]  # post id, the status and version the moderator saw


def _decision_request(body: Any) -> tuple[str, list[Item], QueueFilter]:
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    action = body["action"]
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    posts = body["posts"]
    if not isinstance(posts, list) or not 1 <= len(posts) <= PAGE:
        raise ValueError(f"'posts' must be a list of 1 to {PAGE} posts")
    items = []
    for index, item in enumerate(posts):
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise ValueError(f"posts[{index}] must be an object with an integer 'id'")
        seen, version = item.get("status"), item.get("version")
        if seen is not None and seen not in STATUSES:
            raise ValueError(f"posts[{index}].status: unknown status {seen!r}")
        if version is not None and not isinstance(version, str):
            raise ValueError(f"posts[{index}].version must be a string")
        items.append((whole(item["id"], f"posts[{index}].id"), seen, version))
    return action, items, QueueFilter.from_query(str(body.get("filter", "")))
