"""Each member of staff's own choices, kept with their account: the console's language, and
whether one-letter shortcuts work in the queue (WCAG 2.1.4: a speech-input user must be able to
turn them off)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aggregator.accounts import Staff
from wall.bodies import read_form
from wall.console.auth import refuse
from wall.console.common import Console
from wall.console.forms import field
from wall.console.login import safe_next
from wall.i18n import remember_language

SWITCH = {"on": True, "off": False}


def shortcuts_on(staff: Staff | None) -> bool:
    """One-letter shortcuts work unless the user turned them off."""
    return bool(staff.preferences.get("shortcuts", True)) if staff else True


class PreferenceViews:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [Route("/console/preferences", require(self.change), methods=["POST"])]

    async def change(self, request: Request, staff: Staff) -> Response:
        if staff.user_id is None:
            return refuse(request, 400, "an API token has no preferences: log in as a person")
        form = await read_form(request)
        changes: dict[str, Any] = {}
        if "shortcuts" in form:
            wanted = field(form, "shortcuts")
            if wanted not in SWITCH:
                return refuse(request, 400, f"form field 'shortcuts': {wanted!r} is not on or off")
            changes["shortcuts"] = SWITCH[wanted]
        if "language" in form:
            language = field(form, "language")
            if language not in self.console.app.settings.event.languages:
                return refuse(request, 400, f"form field 'language': no language {language!r}")
            changes["language"] = language
        if changes:
            await self.console.run(
                self.console.app.accounts.set_preferences, staff.user_id, changes
            )
        answer = RedirectResponse(safe_next(field(form, "next")), status_code=303)
        if "language" in changes:
            remember_language(answer, changes["language"])  # this browser too, before any login
        return answer
