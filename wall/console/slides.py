"""The console's slides page: sponsor and announcement slides with an image or a text, for
chosen screens, on a schedule, every N posts or M seconds; each with a preview as the screens
draw it. The logic is the slides service's (aggregator/slides.py), the form's reading and the
image's checks are the API's (wall/slides.py, wall/staff_images.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.accounts import Staff
from aggregator.models import utcnow
from aggregator.settings import ScreenSettings
from aggregator.slides import Slide
from wall import params
from wall.bodies import read_form
from wall.console.forms import FORM_ERRORS, done, field, notice, whole
from wall.console.staff_posts import StaffPostViews
from wall.security import FRAMED_BY_CONSOLE
from wall.slides import add_slide, plan_of_form
from wall.staff_images import ImageRefused, upload_of

# What the form offers at first: from now, for the afternoon, every ten posts.
FIRST_HOURS = 4


class SlideViews(StaffPostViews):
    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [
            Route("/console/slides", require(self.slides)),
            Route("/console/slides", self.limited(require(self.change)), methods=["POST"]),
            Route("/console/slides/{slide_id}/preview", require(self.preview)),
        ]

    async def again(self, request: Request, staff: Staff, error: str, status: int) -> Response:
        return await self.slides(request, staff, error, status)

    async def slides(
        self, request: Request, staff: Staff, error: str | None = None, status: int = 200
    ) -> Response:
        service = self.console.app.slides
        pending = await self.console.run(service.pending)
        recent = await self.console.run(service.recent, 30)
        now = utcnow()
        zone = self.console.app.settings.zone
        return self.console.page(
            request, staff, "console/slides.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)),
            pending=[s.id for s in pending], recent=recent, now=now,
            screens=self.console.app.settings.screens,
            start=_local(now, zone), end=_local(now + timedelta(hours=FIRST_HOURS), zone),
        )  # fmt: skip

    async def change(self, request: Request, staff: Staff) -> Response:
        form = await read_form(request, max_files=1)
        app, run = self.console.app, self.console.run
        try:
            op = field(form, "op")
            if op == "add":
                plan = plan_of_form(form, app.settings.zone)
                upload = await upload_of(form)
                await run(add_slide, app, self.images, plan, upload, staff.name)
                return done("/console/slides", "scheduled")
            if op == "take-down":
                await run(app.slides.take_down, whole(form, "id"), staff.name)
                return done("/console/slides", "taken-down")
            raise ValueError(f"unknown operation {op!r}")
        except FORM_ERRORS as exc:
            status = exc.status if isinstance(exc, ImageRefused) else 400
            return await self.slides(request, staff, self._say(request, exc), status)

    async def preview(self, request: Request, staff: Staff) -> Response:
        """The slide as a screen draws it, in the look of the first screen it shows on."""
        slide_id = params.whole(request.path_params["slide_id"], "the slide id")
        slide = await self.console.run(self.console.app.slides.get, slide_id)
        if slide is None:
            raise HTTPException(404, f"no slide {slide_id}")
        screen = _first_screen(self.console.app.settings.screens, slide)
        response = self.console.templates.response(
            "console/slide_preview.html",
            self.console.language(request),
            slide=slide,
            screen=screen.name if screen else None,
            theme=screen.theme if screen else "dark",
            event=self.console.app.settings.event,
        )
        # Framed by the console's own pages only.
        response.headers["Content-Security-Policy"] = FRAMED_BY_CONSOLE
        return response


def _first_screen(screens: Sequence[ScreenSettings], slide: Slide) -> ScreenSettings | None:
    wanted = [s for s in screens if slide.shown_on(s.name)] or list(screens)
    return wanted[0] if wanted else None


def _local(moment: datetime, zone: ZoneInfo) -> str:
    """A value for a datetime-local input, in the event's time zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
