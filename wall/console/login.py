"""Logging in and out of the console, with throttling per account and per address."""

from __future__ import annotations

import math
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aggregator import accounts
from aggregator.accounts import Staff
from wall.bodies import read_form
from wall.console.common import Console


def safe_next(target: str | None) -> str:
    """Only a path of the console: never another site (open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


class LoginViews:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        guard = self.console.guard
        return [
            Route("/console/login", self.form, methods=["GET"]),
            Route("/console/login", self.submit, methods=["POST"]),
            Route("/console/logout", guard.require(self.logout), methods=["POST"]),
        ]

    def _form(
        self, request: Request, error: str | None = None, status: int = 200, name: str = ""
    ) -> Response:
        token = secrets.token_urlsafe(24)
        response = self.console.page(
            request,
            None,
            "console/login.html",
            status=status,
            error=error,
            user_name=name,
            login_token=token,
            next=safe_next(request.query_params.get("next")),
        )
        self.console.cookies.set_login_token(request, response, token)
        response.headers["cache-control"] = "no-store"
        return response

    async def form(self, request: Request) -> Response:
        return self._form(request)

    async def submit(self, request: Request) -> Response:
        console = self.console
        _ = console.gettext(request)
        form = await read_form(request)
        name = str(form.get("name", "")).strip()
        password = str(form.get("password", ""))
        if not console.cookies.login_token_matches(request, str(form.get("csrf", ""))):
            return self._form(request, _("The form expired: please try again."), 403, name)
        address = request.client.host if request.client else "unknown"
        account_key, address_key = f"account:{name.casefold()}", f"address:{address}"
        wait = max(
            console.by_account.blocked_for(account_key), console.by_address.blocked_for(address_key)
        )
        if wait > 0:
            minutes = math.ceil(wait / 60)
            message = _("Too many failed attempts. Try again in %(minutes)s min.") % {
                "minutes": minutes
            }
            return self._form(request, message, 429, name)
        user = await console.run(accounts.authenticate, console.store, name, password)
        if user is None:
            console.by_account.fail(account_key)
            console.by_address.fail(address_key)
            return self._form(request, _("Wrong name or password."), 401, name)
        console.by_account.forgive(account_key)
        key, _staff = await console.run(accounts.open_session, console.store, user, address)
        target = safe_next(str(form.get("next", "")) or None)
        response = RedirectResponse(target, status_code=303)
        console.cookies.set_session(request, response, key)
        return response

    async def logout(self, request: Request, staff: Staff) -> Response:
        await self.console.run(
            accounts.close_session, self.console.store, staff.session_id, staff.name
        )
        response = RedirectResponse("/console/login", status_code=303)
        self.console.cookies.clear_session(request, response)
        return response
