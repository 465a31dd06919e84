"""A language chosen with `?lang=` sticks: the answer to a page asked for with it sets the
language cookie, so the next click, without the parameter, stays in that language.

Pure ASGI (no BaseHTTPMiddleware: it hides the disconnects of the screens' event streams)."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wall.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_SECONDS


def asked_language(scope: Scope, languages: Collection[str]) -> str | None:
    """The language a GET asks for with `?lang=`, if it is one of ours."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    asked = (query.get("lang") or [""])[0][:2]
    return asked if asked in languages else None


def cookie_header(language: str) -> bytes:
    """The Set-Cookie value (`language` is one of ours: nothing to quote)."""
    return (
        f"{LANGUAGE_COOKIE}={language}; Max-Age={LANGUAGE_COOKIE_SECONDS}; Path=/; HttpOnly; "
        "SameSite=Lax"
    ).encode("ascii")


class RememberLanguage:
    def __init__(self, app: ASGIApp, languages: Collection[str]) -> None:
        self.app = app
        self.languages = languages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        language = asked_language(scope, self.languages)
        if language is None or scope["path"].endswith("/events"):
            # A screen's stream repeats its page's language: nothing to remember there.
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"set-cookie", cookie_header(language))]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
