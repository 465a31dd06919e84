"""Staff posts: announcements to chosen screens and the emergency message, behind session and
CSRF; the logic (and the token-protected JSON API) belongs to the wall part's aggregator/messages.py."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator import messages
from aggregator.accounts import Staff
from wall.console.common import Console
from wall.console.forms import FORM_ERRORS, done, field, notice, whole


class StaffPostViews:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [
            Route("/console/messages", require(self.messages)),
            Route("/console/messages", require(self.send_message), methods=["POST"]),
        ]

    # Staff posts: announcements and the emergency message (logic in aggregator/messages.py)

    async def messages(
        self, request: Request, staff: Staff, error: str | None = None, status: int = 200
    ) -> Response:
        store = self.console.store
        active = await self.console.run(messages.active, store)
        recent = await self.console.run(messages.recent, store, 20)
        return self.console.page(
            request, staff, "console/messages.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)), active=active, recent=recent,
            screens=self.console.app.settings.screens,
        )  # fmt: skip

    async def send_message(self, request: Request, staff: Staff) -> Response:
        form = await request.form()
        try:
            code = await self._message_action(form, staff)
        except FORM_ERRORS as exc:
            return await self.messages(request, staff, error=str(exc.args[0]), status=400)
        return done("/console/messages", code)

    async def _message_action(self, form: Any, staff: Staff) -> str:
        store, publish, run = self.console.store, self.console.app.feed.notify, self.console.run
        op = field(form, "op")
        known = [s.name for s in self.console.app.settings.screens]
        if op == "announce":
            chosen = [s for s in form.getlist("screens") if isinstance(s, str)]
            await run(
                messages.send, store, field(form, "text"), kind="announcement", screens=chosen,
                minutes=whole(form, "minutes"), actor=staff.name, known_screens=known,
                publish=publish,
            )  # fmt: skip
            return "sent"
        if op == "emergency":
            if field(form, "confirm") != "yes":
                raise ValueError(
                    "tick the confirmation box: the emergency message takes over every screen"
                )
            await run(messages.send, store, field(form, "text"), kind="emergency",
                      actor=staff.name, publish=publish)  # fmt: skip
            return "sent"
        if op == "clear":
            await run(messages.clear, store, whole(form, "id"), staff.name, publish)
            return "cleared"
        if op == "all-clear":
            await run(messages.clear_emergencies, store, staff.name, publish)
            return "cleared"
        raise ValueError(f"unknown operation {op!r}")
