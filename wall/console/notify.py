"""Each moderator's own alerts: a chime when a post arrives, a browser notification when one has
waited too long. The choices live in the account (they follow the moderator from one computer
to the next); every console page reads them from /console/api/notify (static/notify.js)."""

from __future__ import annotations

from babel.numbers import format_decimal
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator.accounts import Staff
from aggregator.i18n import LOCALES
from aggregator.moderation.waiting import AFTER_RANGE, Alerts
from wall.bodies import read_form
from wall.console.common import Console
from wall.console.forms import done, field, notice
from wall.params import BadRequest

PATH = "/console/notifications"


def seconds_of(minutes: str) -> int | None:
    """A delay typed in minutes ("2", "1,5") as whole seconds, None outside AFTER_RANGE."""
    try:
        seconds = round(float(minutes.replace(",", ".")) * 60)
    except (ValueError, OverflowError):
        return None
    low, high = AFTER_RANGE
    return seconds if low <= seconds <= high else None


def alerts_from(form: FormData) -> Alerts | None:
    after = seconds_of(field(form, "after"))
    if after is None:
        return None
    return Alerts(
        sound=field(form, "sound") == "on",
        notifications=field(form, "notifications") == "on",
        after=after,
    )


class NotifyViews:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [
            Route("/console/api/notify", require(self.settings)),
            Route(PATH, require(self.page)),
            Route(PATH, require(self.save), methods=["POST"]),
        ]

    async def alerts(self, staff: Staff) -> Alerts:
        default = self.console.app.settings.console.notify_after
        if staff.user_id is None:  # an API token has no account to keep choices in
            return Alerts(after=default)
        chosen = await self.console.run(self.console.app.accounts.preferences, staff.user_id)
        return Alerts.of(chosen, default)

    async def settings(self, request: Request, staff: Staff) -> Response:
        """What notify.js needs on every page: the choices, and its words in the page's language."""
        _ = self.console.gettext(request)
        alerts = await self.alerts(staff)
        return JSONResponse(
            {
                "sound": alerts.sound,
                "notifications": alerts.notifications,
                "after": alerts.after,
                "labels": {
                    "title": _("Posts are waiting for a decision"),
                    "body": _("%(count)s post(s) waiting; the oldest for %(minutes)s min."),
                },
            }
        )

    async def page(
        self, request: Request, staff: Staff, error: str | None = None, status: int = 200
    ) -> Response:
        alerts = await self.alerts(staff)
        return self.console.page(
            request, staff, "console/notifications.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)), alerts=alerts,
            minutes=f"{alerts.after / 60:g}",
            default_minutes=format_decimal(round(self.default_after / 60, 2),
                                           locale=LOCALES[self.console.language(request)]),
            personal=staff.user_id is not None,
        )  # fmt: skip

    @property
    def default_after(self) -> int:
        return self.console.app.settings.console.notify_after

    async def save(self, request: Request, staff: Staff) -> Response:
        form = await read_form(request)
        if staff.user_id is None:
            raise BadRequest("an API token has no preferences: log in as a person")
        alerts = alerts_from(form)
        if alerts is None:
            _ = self.console.gettext(request)
            locale = LOCALES[self.console.language(request)]
            low, high = (format_decimal(round(s / 60, 2), locale=locale) for s in AFTER_RANGE)
            error = _("The delay must be a number of minutes from %(low)s to %(high)s.") % {
                "low": low,
                "high": high,
            }
            return await self.page(request, staff, error=error, status=400)
        accounts = self.console.app.accounts
        await self.console.run(accounts.set_preferences, staff.user_id, alerts.preference())
        return done(PATH, "saved")
