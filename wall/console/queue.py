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
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from aggregator import edits
from aggregator.accounts import Staff
from aggregator.i18n import N_
from aggregator.models import Change, Post
from aggregator.moderation import ACTIONS, NEW_STATUS, ModerationError, Outcome, decide, restore
from aggregator.rules import Rules, normalize_handle
from aggregator.timeline import by_ids
from wall.bodies import read_json
from wall.console.common import Console
from wall.console.preferences import shortcuts_on
from wall.i18n import translations
from wall.params import BadRequest, resume_point, whole
from wall.screens import sse
from wall.security import CSP

STATUSES = (N_("pending"), N_("approved"), N_("rejected"), N_("retracted"), N_("all"))
PAGE = 200
UNDO_SECONDS = 10
# The browser's undo may arrive a moment after its 10 s toast: allow for the round trip.
UNDO_GRACE = 2
PING_SECONDS = 15.0


@dataclass(frozen=True)
class QueueFilter:
    status: str = "pending"
    source: str = ""
    language: str = ""
    author: str = ""
    text: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueFilter:
        status = params.get("status", "pending")
        values = {
            k: params.get(k, "").strip()[:100] for k in ("source", "language", "author", "text")
        }
        return cls(status=status if status in STATUSES else "pending", **values)

    @classmethod
    def from_query(cls, query: str) -> QueueFilter:
        return cls.from_params(dict(parse_qsl(query.lstrip("?"))))

    def query_string(self) -> str:
        return urlencode({k: v for k, v in asdict(self).items() if v})

    def select(self) -> Any:
        query = select(Post).where(col(Post.deleted).is_(False))
        if self.status == "pending":  # an approved post's held edit waits like a new post
            query = query.where(
                (col(Post.status) == "pending")
                | ((col(Post.status) == "approved") & col(Post.pending_edit).is_not(None))
            )
        elif self.status != "all":
            query = query.where(Post.status == self.status)
        if self.source:
            query = query.where(Post.source == self.source)
        if self.language:
            query = query.where(Post.language == self.language)
        if self.author:
            like = f"%{self.author}%"
            query = query.where(
                col(Post.author_handle).ilike(like) | col(Post.author_name).ilike(like)
            )
        if self.text:
            query = query.where(col(Post.text).ilike(f"%{self.text}%"))
        return query

    def accepts(self, post: Post) -> bool:
        who = f"{post.author_handle} {post.author_name}".casefold()
        edit_waits = post.status == "approved" and post.pending_edit is not None
        return (
            not post.deleted
            and (self.status in ("all", post.status) or (self.status == "pending" and edit_waits))
            and self.source in ("", post.source)
            and self.language in ("", post.language)
            and self.author.casefold() in who
            and self.text.casefold() in post.text.casefold()
        )


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
        # The last decisions of each session, for undo: {session: (when, outcomes)}.
        self._undo: dict[str, tuple[float, list[Outcome]]] = {}

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

    def _rules(self, session: Session) -> Rules:
        return self.console.app.live_rules.current(session)[0]

    def _load(self, wanted: QueueFilter) -> tuple[list[Post], int, list[str], list[str], Rules]:
        store = self.console.store
        with store.read() as session:
            posts = list(session.exec(wanted.select().order_by(col(Post.id).desc()).limit(PAGE)))
            count = session.exec(
                sa.select(sa.func.count()).select_from(wanted.select().subquery())
            ).one()[0]
            languages = session.execute(
                sa.select(col(Post.language)).distinct().where(col(Post.language).is_not(None))
            ).all()
            rules = self._rules(session)
        sources = [s.name for s in self.console.app.settings.sources]
        return posts, int(count), sources, sorted(str(row[0]) for row in languages), rules

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
            event=settings.event,
        )
        # Framed by the console's own pages only.
        response.headers["Content-Security-Policy"] = CSP.replace(
            "frame-ancestors 'none'", "frame-ancestors 'self'"
        )
        return response

    def _post(self, post_id: int) -> Post | None:
        with self.console.store.read() as session:
            return session.get(Post, post_id)

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
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            self._stream(wanted, start, language), media_type="text/event-stream", headers=headers
        )

    async def _stream(self, wanted: QueueFilter, seq: int, language: str) -> AsyncIterator[str]:
        feed = self.console.app.feed
        yield "retry: 2000\nevent: hello\ndata: console\n\n"
        while True:
            changes = await self.console.run(feed.since, seq)
            if changes:
                for chunk in await self.console.run(self._render, changes, wanted, language):
                    yield chunk
                seq = changes[-1].seq or seq
                continue
            if await feed.wait_beyond(seq, PING_SECONDS) <= seq:
                yield ": ping\n\n"

    def _render(self, changes: list[Change], wanted: QueueFilter, language: str) -> list[str]:
        # Several changes of one post in a batch: its current state once, at its last seq.
        last = {c.post_id: c.seq for c in changes if c.post_id is not None}
        with self.console.store.read() as session:
            posts = by_ids(session, list(last))
            rules = self._rules(session)
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
        if outcomes:
            self._undo[_undo_key(staff)] = (time.monotonic(), outcomes)
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
        store = self.console.store
        outcomes: list[Outcome] = []
        errors: dict[int, str] = {}
        for post_id, seen, seen_version in items:
            expected = seen if action in NEW_STATUS else None
            version = seen_version if action in NEW_STATUS else None
            try:
                outcomes.append(
                    decide(store, post_id, action, staff.name, expected_status=expected,
                           expected_version=version)
                )  # fmt: skip
            except ModerationError as exc:
                errors[post_id] = self._conflict(post_id, exc, language)
        self._announce([o.post_id for o in outcomes if o.seq is None])
        return self._results([i for i, _, _ in items], errors, wanted, language), outcomes

    def _conflict(self, post_id: int, error: ModerationError, language: str) -> str:
        gettext = translations(language).gettext
        with self.console.store.read() as session:
            post = session.get(Post, post_id)
        if post is None or error.status != 409:
            return error.message
        if error.kind == "edited":
            return gettext("Edited at its source since you saw it: read it again.")
        return gettext("Already %(status)s by %(who)s: nothing was changed.") % {
            "status": gettext(post.status),
            "who": post.decided_by or gettext("the rules"),
        }

    def _announce(self, post_ids: list[int]) -> None:
        """Decisions no screen sees still reach the other moderators' queues."""
        if not post_ids:
            return
        store = self.console.store
        with store.write() as session:
            for post_id in post_ids:
                store.add_change(session, "queue", post_id=post_id)

    def _results(
        self, ids: list[int], errors: dict[int, str], wanted: QueueFilter, language: str
    ) -> list[dict[str, Any]]:
        with self.console.store.read() as session:
            posts = by_ids(session, ids)
            rules = self._rules(session)
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
        at, outcomes = self._undo.pop(_undo_key(staff), (0.0, []))
        if not outcomes or time.monotonic() - at > UNDO_SECONDS + UNDO_GRACE:
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
        store = self.console.store
        quiet = []
        for outcome in reversed(outcomes):
            if restore(store, outcome, staff.name).seq is None:
                quiet.append(outcome.post_id)
        self._announce(quiet)
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
