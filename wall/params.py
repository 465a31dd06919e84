"""Whole numbers from a request (query, path, form or JSON field): in range, or a 400 that
names the parameter.

Ids and change numbers are INTEGER columns, and PostgreSQL's INTEGER is the narrower of the
two stores' (SQLite's holds 64 bits): a number past it would reach the database and fail
there, so it is refused here, where the reason can still be told.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"-?[0-9]+")


class BadRequest(ValueError):
    """A request refused with a 400 that says what is wrong. A ValueError, so that the
    console's forms show it on the page like their own errors."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def whole(raw: object, label: str, low: int = 0, high: int = MAX_ID) -> int:
    """`raw` (text from an address or a form, or a JSON number) as an int in [low, high];
    `label` names it in the error ("query parameter 'after'", "field 'id'")."""
    value = raw
    if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
        # Past 30 digits it is out of range anyway (and int() refuses 5,000 of them).
        value = int(raw.strip()) if len(raw.strip()) <= 30 else None
    elif not isinstance(raw, int) or isinstance(raw, bool):
        raise BadRequest(f"{label} must be a whole number, got {_shown(raw)}")
    if not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{label} must be between {low} and {high}, got {_shown(raw)}")
    return value


def _shown(value: object) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)
    return text if len(text) <= 40 else f"{text[:40]}…"


def query_whole(
    request: Request, name: str, default: int | None = None, low: int = 0, high: int = MAX_ID
) -> int | None:
    """A query parameter as a whole number; `default` when it is absent or empty."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return whole(raw, f"query parameter '{name}'", low, high)


def resume_point(request: Request) -> int | None:
    """Where an event stream resumes: the Last-Event-ID a browser sends back on its own, or
    `?after=` on the first connection; None for neither."""
    header = request.headers.get("last-event-id")
    if header:
        return whole(header, "the Last-Event-ID header")
    return query_whole(request, "after")


class PlainQuery:
    """Refuse a query string holding a NUL character (%00) before any route reads it: no page
    needs one, and PostgreSQL refuses to compare text with it (a filter would fail there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if b"%00" in query or b"\x00" in query:
            message = "the query string contains a NUL character (%00)"
            await JSONResponse({"error": message}, status_code=400)(scope, receive, send)
            return
        await self.app(scope, receive, send)
