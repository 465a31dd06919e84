"""Today's digest so far, for staff: what members would read if the day ended now, before
the evening run publishes it (the public pages only show published days)."""

from __future__ import annotations

from babel.dates import format_time
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.accounts import Staff
from aggregator.i18n import LOCALES
from wall.console.common import Console
from wall.digest import DigestViews, day_label


class DigestPreviewViews:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.digest = DigestViews(console.app, console.templates)

    def routes(self) -> list[Route]:
        return [Route("/console/digest", self.console.guard.require(self.today))]

    async def today(self, request: Request, staff: Staff) -> Response:
        runs = self.console.app.digest
        language = self.digest.language(request)
        day = runs.today()
        content = await self.console.run(runs.content, day)
        body = "" if content.empty else (await self.console.run(self.digest.body, day, language))
        return self.console.templates.response(
            "digest/preview.html",
            language,
            body=body,
            day_label=day_label(day, language),
            send_at=format_time(runs.settings.digest.send_at, "short", locale=LOCALES[language]),
            event=self.console.app.settings.event,
            languages=runs.languages,
        )
