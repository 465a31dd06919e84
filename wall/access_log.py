"""One log line per request, written when the answer is finished (pure ASGI middleware).

It replaces uvicorn's access log, which writes when the headers go out: a screen's event
stream would log at its start and never say how long it stayed open. Query values that can be
secrets are hidden; headers (Authorization, cookies) are never logged at all.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("livewall.access")

# Parameter names whose values are never written: tokens, keys, signatures, passwords.
SECRET_WORDS = ("token", "key", "secret", "password", "sig", "csrf", "session", "auth", "code")
HIDDEN = "***"


def shown_query(raw: bytes) -> str:
    """The query string as a log line may show it: each secret-looking value replaced."""
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    shown = [(name, HIDDEN if _secret(name) else value) for name, value in pairs]
    return "?" + urlencode(shown, safe="/:,*")


def _secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = self._timed if scope["type"] == "http" else self.app
        await answered(scope, receive, send)

    async def _timed(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            self._line(scope, status, (time.perf_counter() - started) * 1000)

    def _line(self, scope: Scope, status: int, duration_ms: float) -> None:
        path = scope["path"] + shown_query(scope.get("query_string", b""))
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "client": client[0] if client else None,
        }
        log.info("%s %s %d %.0f ms", scope["method"], path, status, duration_ms, extra=fields)
