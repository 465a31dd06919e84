"""Who may do what in the console: every route is wrapped here, so none is public by mistake.

A request is a staff member's when it carries a valid session cookie or an API token
(`Authorization: Bearer lw_…`). A state-changing request on a session must also carry the
session's CSRF token (form field `csrf` or header `X-CSRF-Token`); API tokens are not
sent by browsers on their own, so they need none.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from aggregator.accounts import Accounts, Staff
from wall.console.sessions import Cookies

Handler = Callable[[Request, Staff], Awaitable[Response]]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "x-csrf-token"


def wants_json(request: Request) -> bool:
    """API calls and event streams answer 401; pages send people to the login form."""
    path = request.url.path
    accept = request.headers.get("accept", "")
    return (
        path.startswith(("/console/api/", "/api/"))
        or path.endswith("/events")
        or "application/json" in accept
        or "text/event-stream" in accept
    )


def refuse(request: Request, status: int, message: str) -> Response:
    if status == 401 and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
    if wants_json(request) or status == 401:
        return JSONResponse({"error": message}, status_code=status)
    return Response(message, status_code=status, media_type="text/plain; charset=utf-8")


class Guard:
    def __init__(self, accounts: Accounts, cookies: Cookies) -> None:
        self.accounts = accounts
        self.cookies = cookies

    async def staff(self, request: Request) -> tuple[Staff | None, bool]:
        """(the staff member, whether by session cookie) or (None, False)."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            secret = header[7:].strip()
            found = await anyio.to_thread.run_sync(self.accounts.check_token, secret)
            return found, False
        key = self.cookies.session_key(request)
        if key is None:
            return None, False
        found = await anyio.to_thread.run_sync(self.accounts.load_session, key)
        return found, found is not None

    async def csrf_ok(self, request: Request, staff: Staff) -> bool:
        submitted = request.headers.get(CSRF_HEADER)
        if submitted is None and "form" in request.headers.get("content-type", ""):
            field = (await request.form()).get("csrf")
            submitted = field if isinstance(field, str) else None
        expected = staff.csrf_token or ""
        if not submitted or not expected:
            return False
        return secrets.compare_digest(submitted, expected)

    def require(
        self, handler: Handler, admin: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            staff, by_cookie = await self.staff(request)
            if staff is None:
                return refuse(request, 401, "log in first (or send an API token)")
            unsafe = by_cookie and request.method not in SAFE_METHODS
            if unsafe and not await self.csrf_ok(request, staff):
                return refuse(request, 403, "missing or wrong CSRF token: reload the page")
            if admin and not staff.is_admin:
                return refuse(request, 403, "only an administrator may do this")
            request.state.staff = staff
            return await handler(request, staff)

        guarded.__name__ = handler.__name__
        return guarded
