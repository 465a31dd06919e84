"""The digest on the web: every day's page, the archive, and an Atom feed.

A day's page is rendered from the store as it is now (a post retracted after the email left
is gone from the page), but only for days the digest was published: the `digests` row says
which days exist and holds the feed entry's stable id.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import anyio
from babel.dates import format_date
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.application import Livewall
from aggregator.digest.models import Digest
from aggregator.digest.render import EMAIL_ALL_POSTS_LIMIT, body_html, preheader, subject
from aggregator.i18n import LOCALES
from wall.i18n import pick_language
from wall.templating import Templates

FEED_ENTRIES = 60


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{text!r} is not a date: use YYYY-MM-DD") from None


def day_label(day: date, language: str) -> str:
    """« mercredi 25 novembre 2026 »."""
    return format_date(day, "full", locale=LOCALES[language])


class DigestViews:
    def __init__(self, app: Livewall, templates: Templates) -> None:
        self.app = app
        self.templates = templates
        self.runs = app.digest

    def routes(self) -> list[Route]:
        return [
            Route("/digest/", self.archive),
            Route("/digest/feed.xml", self.feed),
            Route("/digest/{day}", self.page),
        ]

    def language(self, request: Request) -> str:
        languages = self.runs.languages
        return pick_language(request.query_params.get("lang"), "fr", languages)

    def _common(self, language: str) -> dict[str, Any]:
        return {"event": self.app.settings.event, "languages": self.runs.languages}

    async def archive(self, request: Request) -> Response:
        language = self.language(request)
        rows = await anyio.to_thread.run_sync(self.runs.archive)
        days = [(row, day_label(row.day, language)) for row in rows]
        return self.templates.response(
            "digest/archive.html", language, days=days, **self._common(language)
        )

    async def page(self, request: Request) -> Response:
        day = parse_day(request.path_params["day"])
        language = self.language(request)
        record = await anyio.to_thread.run_sync(self.runs.record, day)
        if record is None:
            return self.templates.response(
                "digest/missing.html",
                language,
                status=404,
                day=day_label(day, language),
                **self._common(language),
            )
        body, title, _ = await anyio.to_thread.run_sync(self._body, day, language, False)
        return self.templates.response(
            "digest/day.html",
            language,
            day=day,
            day_label=day_label(day, language),
            record=record,
            body=body,
            title=title,
            **self._common(language),
        )

    def body(self, day: date, language: str) -> str:
        """The day's fragment as its page shows it, from the store as it is now."""
        return self._body(day, language, False)[0]

    def _body(self, day: date, language: str, in_feed: bool) -> tuple[str, str, str]:
        """The day's fragment, title and one-line summary, from the store as it is now. The
        page lists every post; a feed entry, like the email, only up to a limit (then it
        links to the page), or sixty days of a busy event would make a feed of megabytes."""
        content = self.runs.content(day)
        public_url = self.app.settings.server.public_url
        if in_feed:
            body = body_html(content, language, public_url, public_url, EMAIL_ALL_POSTS_LIMIT)
        else:
            body = body_html(content, language, public_url)
        return body, subject(content, language), preheader(content, language)

    async def feed(self, request: Request) -> Response:
        language = self.language(request)
        entries = await anyio.to_thread.run_sync(self._entries, language)
        xml = self.templates.render(
            "digest/feed.xml",
            language,
            entries=entries,
            public_url=self.app.settings.server.public_url,
            updated=max((entry[0].built_at for entry in entries), default=None),
            **self._common(language),
        )
        return Response(xml, media_type="application/atom+xml; charset=utf-8")

    def _entries(self, language: str) -> list[tuple[Digest, str, str, str]]:
        return [
            (row, *self._body(row.day, language, True))
            for row in self.runs.archive()[:FEED_ENTRIES]
        ]
