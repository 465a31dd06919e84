"""What every console view shares: the Livewall, templates, cookies, the guard and page rendering."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse

from aggregator.accounts import Staff
from aggregator.application import Livewall
from wall.console.auth import Guard
from wall.console.sessions import Cookies, secret_key
from wall.i18n import pick_language, translations
from wall.templating import Templates

T = TypeVar("T")

# (path, label msgid, admin only); labels are translated in the template.
NAVIGATION = (
    ("/console", "Queue", False),
    ("/console/messages", "Staff posts", False),
    ("/console/rules", "Rules", True),
    ("/console/screens", "Screens", True),
    ("/console/sources", "Sources", True),
    ("/console/audit", "Audit log", False),
    ("/console/stats", "Statistics", False),
    ("/console/digest", "Digest", False),
    ("/console/users", "Accounts", True),
)


class Console:
    def __init__(self, app: Livewall, templates: Templates) -> None:
        self.app = app
        self.templates = templates
        https = app.settings.server.public_url.startswith("https://")
        self.cookies = Cookies(secret_key(app.env), https)
        self.guard = Guard(app.accounts, self.cookies)

    @property
    def store(self) -> Any:
        return self.app.store

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A blocking store call, off the event loop (screens' streams share that loop)."""
        return await anyio.to_thread.run_sync(partial(function, *args, **kwargs))

    def language(self, request: Request) -> str:
        languages = self.app.settings.event.languages
        return pick_language(request.query_params.get("lang"), languages[0], languages)

    def gettext(self, request: Request) -> Callable[[str], str]:
        return translations(self.language(request)).gettext

    def page(
        self,
        request: Request,
        staff: Staff | None,
        name: str,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        nav = [
            (p, label) for p, label, admin in NAVIGATION if staff and (staff.is_admin or not admin)
        ]
        return self.templates.response(
            name,
            self.language(request),
            status=status,
            staff=staff,
            csrf=staff.csrf_token if staff else None,
            navigation=nav,
            here=request.url.path,
            event=self.app.settings.event,
            **context,
        )
