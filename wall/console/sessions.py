"""The console's cookies: a signed session key (the session itself lives in the store) and the
login form's CSRF token, which exists before any session does."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from aggregator.accounts import SESSION_LIFETIME

SESSION_COOKIE = "livewall_console"
LOGIN_COOKIE = "livewall_login"
LOGIN_FORM_SECONDS = 3600


def secret_key(env: Mapping[str, str]) -> str:
    """LIVEWALL_SECRET_KEY, or a random key: then a restart asks everyone to log in again."""
    return env.get("LIVEWALL_SECRET_KEY") or secrets.token_urlsafe(32)


class Cookies:
    def __init__(self, key: str, https: bool) -> None:
        self._sessions = URLSafeTimedSerializer(key, salt="livewall-console-session")
        self._login = URLSafeTimedSerializer(key, salt="livewall-login-form")
        self.https = https

    def _secure(self, request: Request) -> bool:
        return self.https or request.url.scheme == "https"

    def session_key(self, request: Request) -> str | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            value = self._sessions.loads(raw, max_age=int(SESSION_LIFETIME.total_seconds()))
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def set_session(self, request: Request, response: Response, key: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self._sessions.dumps(key),
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path="/",
            secure=self._secure(request),
            httponly=True,
            samesite="lax",
        )

    def clear_session(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=self._secure(request), httponly=True, samesite="lax"
        )

    def set_login_token(self, request: Request, response: Response, token: str) -> None:
        """The login form's CSRF token, also set as a signed cookie (double submit)."""
        response.set_cookie(
            LOGIN_COOKIE,
            self._login.dumps(token),
            max_age=LOGIN_FORM_SECONDS,
            path="/console/login",
            secure=self._secure(request),
            httponly=True,
            samesite="lax",
        )

    def login_token_matches(self, request: Request, submitted: str) -> bool:
        raw = request.cookies.get(LOGIN_COOKIE, "")
        try:
            expected = self._login.loads(raw, max_age=LOGIN_FORM_SECONDS)
        except BadSignature:
            return False
        return isinstance(expected, str) and secrets.compare_digest(expected, submitted)
