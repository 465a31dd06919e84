"""Staff posts: announcements (text and an optional image) to chosen screens for a chosen time,
and the emergency message, behind session and CSRF. The logic is the messages service's
(aggregator/messages.py); images are checked and kept by wall/staff_images.py (the same code
as the token-protected JSON API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from babel.numbers import format_decimal
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.accounts import Staff
from aggregator.i18n import LOCALES, N_
from wall.bodies import UPLOAD_LIMIT, BodyTooLarge, allow, drain, read_form
from wall.console.auth import refuse
from wall.console.common import Console
from wall.console.forms import FORM_ERRORS, done, field, notice, whole
from wall.staff_images import ImageRefused, StaffImages, announce, too_big, upload_of

Endpoint = Callable[[Request], Awaitable[Response]]


class StaffPostViews:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.images = StaffImages.of(console.app)

    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [
            Route("/console/messages", require(self.messages)),
            Route(
                "/console/messages",
                self.limited(require(self.send_message)),
                methods=["POST"],
            ),
        ]

    # Staff posts: announcements and the emergency message (logic in aggregator/messages.py)

    async def messages(
        self, request: Request, staff: Staff, error: str | None = None, status: int = 200
    ) -> Response:
        messages = self.console.app.messages
        active = await self.console.run(messages.active)
        recent = await self.console.run(messages.recent, 20)
        return self.console.page(
            request, staff, "console/messages.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)), active=active, recent=recent,
            screens=self.console.app.settings.screens,
        )  # fmt: skip

    def limited(self, guarded: Endpoint) -> Endpoint:
        """The guard and the form behind a body limit (an image is at most 8 MB), so an
        oversized upload is answered before it fills the disk."""

        async def endpoint(request: Request) -> Response:
            allow(request, UPLOAD_LIMIT)
            try:
                return await guarded(request)
            except BodyTooLarge as exc:
                await drain(request, 4 * UPLOAD_LIMIT)
                return await self._refused_upload(request, too_big(exc.size))
            finally:
                await request.close()  # the form's spooled files

        return endpoint

    async def _refused_upload(self, request: Request, error: ImageRefused) -> Response:
        # Nothing was read, so no CSRF check ran: only the page is shown again, unchanged.
        staff, _ = await self.console.guard.staff(request)
        if staff is None:
            return refuse(request, 401, "log in first (or send an API token)")
        return await self.again(request, staff, self._say(request, error), error.status)

    async def again(self, request: Request, staff: Staff, error: str, status: int) -> Response:
        """The page of this form again, with what was wrong."""
        return await self.messages(request, staff, error, status)

    def _say(self, request: Request, error: Exception) -> str:
        if isinstance(error, ImageRefused):
            # Sizes in the reader's own way of writing numbers: « 9,2 Mo ».
            locale = LOCALES.get(self.console.language(request), "fr_CA")
            values = {
                name: format_decimal(value, "0.0", locale=locale)
                if isinstance(value, float)
                else value
                for name, value in error.values.items()
            }
            return self.console.gettext(request)(error.msgid) % values
        # Fixed messages have a translation; ones that carry values stay as they are.
        return self.console.gettext(request)(str(error.args[0]))

    async def send_message(self, request: Request, staff: Staff) -> Response:
        form = await read_form(request, max_files=1)
        try:
            code = await self._message_action(form, staff)
        except FORM_ERRORS as exc:
            status = exc.status if isinstance(exc, ImageRefused) else 400
            return await self.messages(request, staff, self._say(request, exc), status)
        return done("/console/messages", code)

    async def _message_action(self, form: Any, staff: Staff) -> str:
        messages, run = self.console.app.messages, self.console.run
        op = field(form, "op")
        if op == "announce":
            chosen = [s for s in form.getlist("screens") if isinstance(s, str)]
            upload = await upload_of(form)
            await run(
                announce, self.console.app, self.images, field(form, "text"), upload,
                screens=chosen, minutes=whole(form, "minutes"), actor=staff.name,
            )  # fmt: skip
            return "sent"
        if op == "emergency":
            if field(form, "confirm") != "yes":
                raise ValueError(
                    N_("tick the confirmation box: the emergency message takes over every screen")
                )
            await run(messages.send, field(form, "text"), kind="emergency", actor=staff.name)
            return "sent"
        if op == "clear":
            await run(messages.clear, whole(form, "id"), staff.name)
            return "cleared"
        if op == "all-clear":
            await run(messages.clear_emergencies, staff.name)
            return "cleared"
        raise ValueError(f"unknown operation {op!r}")
