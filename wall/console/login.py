"""Logging in and out of the console: tries throttled per account and address, and a
bound on how many passwords are checked at once (Argon2 takes 64 MiB each)."""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aggregator.accounts import LoginThrottle, Staff
from aggregator.models import User
from wall.bodies import read_form
from wall.console.common import Console
from wall.i18n import remember_language

T = TypeVar("T")
CHECKS_AT_ONCE = 2
CHECKS_WAITING = 8
BUSY_RETRY_SECONDS = 5


def safe_next(target: str | None) -> str:
    """Only a path of the console: never another site (open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


class Busy(Exception):
    """Too many passwords are being checked or wait their turn."""


class PasswordChecks:
    """Passwords checked `at_once` at a time, `waiting` more in line, refused beyond: memory
    stays near `at_once` × 64 MiB however many logins arrive together."""

    def __init__(self, at_once: int = CHECKS_AT_ONCE, waiting: int = CHECKS_WAITING) -> None:
        self.at_once = at_once
        self.waiting = waiting
        self.slots = asyncio.Semaphore(at_once)
        self.pending = 0  # checking or waiting their turn
        self.running = 0
        self.peak = 0  # the most checked at once, and how many in all (for tests and bench)
        self.checked = 0

    @property
    def full(self) -> bool:
        return self.pending >= self.at_once + self.waiting

    async def run(self, check: Callable[[], T]) -> T:
        if self.full:
            raise Busy(f"{self.pending} password checks already under way")
        self.pending += 1
        try:
            async with self.slots:
                self.running += 1
                self.peak = max(self.peak, self.running)
                self.checked += 1
                try:
                    return await anyio.to_thread.run_sync(check)
                finally:
                    self.running -= 1
        finally:
            self.pending -= 1


class LoginViews:
    def __init__(
        self,
        console: Console,
        throttle: LoginThrottle | None = None,
        checks: PasswordChecks | None = None,
    ) -> None:
        self.console = console
        self.throttle = throttle or LoginThrottle()
        self.checks = checks or PasswordChecks()

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
        # Counted before the check, in one step with it: simultaneous tries cannot all pass.
        wait = self.throttle.reserve(name, address)
        if wait > 0:
            minutes = math.ceil(wait / 60)
            message = _("Too many failed attempts. Try again in %(minutes)s min.") % {
                "minutes": minutes
            }
            return self._form(request, message, 429, name)
        try:
            user = await self._check(name, password, address)
        except Busy:
            message = _("Too many logins at once: try again in a few seconds.")
            response = self._form(request, message, 503, name)
            response.headers["retry-after"] = str(BUSY_RETRY_SECONDS)
            return response
        if user is None:
            return self._form(request, _("Wrong name or password."), 401, name)
        self.throttle.succeeded(name, address)
        key, staff = await console.run(console.app.accounts.open_session, user, address)
        target = safe_next(str(form.get("next", "")) or None)
        response = RedirectResponse(target, status_code=303)
        console.cookies.set_session(request, response, key)
        language = staff.preferences.get("language")
        if language in console.app.settings.event.languages:
            # The staff member's own language follows them to this browser.
            remember_language(response, language)
        return response

    async def _check(self, name: str, password: str, address: str) -> User | None:
        check = partial(self.console.app.accounts.authenticate, name, password)
        try:
            return await self.checks.run(check)
        except BaseException:
            self.throttle.unchecked(name, address)  # not judged (busy, store down): no failure
            raise

    async def logout(self, request: Request, staff: Staff) -> Response:
        await self.console.run(
            self.console.app.accounts.close_session, staff.session_id, staff.name
        )
        response = RedirectResponse("/console/login", status_code=303)
        self.console.cookies.clear_session(request, response)
        return response
