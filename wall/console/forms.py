"""Form handling shared by the admin pages: read a form, act, then redirect (or show the error)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aggregator.accounts import AccountError
from aggregator.i18n import N_
from aggregator.messages import MessageError
from aggregator.moderation.live_rules import RuleError
from wall import params

# Errors a form can cause: shown on the page, never a traceback.
FORM_ERRORS = (AccountError, RuleError, MessageError, ValueError, KeyError)

# Success messages by code: a redirect carries the code, never free text (no spoofed notices).
NOTICES = {
    "saved": N_("Saved."),
    "banned": N_("Author banned; their posts on the screens were retracted."),
    "removed": N_("Removed."),
    "reload": N_("The screen will reload within a few seconds."),
    "layout": N_("The screen's layout is changing."),
    "paused": N_("Source paused."),
    "resumed": N_("Source resumed."),
    "running": N_("The source is being collected now."),
    "user": N_("Account saved."),
    "sent": N_("The message is on the screens."),
    "cleared": N_("The message is taken down."),
    "scheduled": N_("The slide is scheduled."),
    "taken-down": N_("The slide is taken down."),
}


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def whole(form: FormData, name: str) -> int:
    return params.whole(field(form, name), f"'{name}'")


def done(path: str, code: str) -> Response:
    return RedirectResponse(f"{path}?done={code}", status_code=303)


def notice(request: Request, gettext: Callable[[str], str]) -> str | None:
    code = request.query_params.get("done", "")
    return gettext(NOTICES[code]) if code in NOTICES else None
