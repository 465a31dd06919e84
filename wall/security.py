"""Security headers as pure ASGI middleware (BaseHTTPMiddleware would hide SSE disconnects)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No third party anywhere: scripts, styles, images and streams come from our own origin. The
# console frames its own card previews; a screen's policy (below) frames only the player.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-src 'self'; "
    "frame-ancestors 'none'"
)


# The console's previews (a card, a slide) are framed by the console's own pages only.
FRAMED_BY_CONSOLE = CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
NONE = "'none'"
PLAYER = "https://www.youtube-nocookie.com"
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def screen_csp(embed_origins: Sequence[str] = (), show_stream: bool = True) -> str:
    """A screen's own policy: framed only by its embed origins, the player only if it may stream.

    Origins are checked again here: a stray ';' in the configuration must not add a directive.
    """
    origins = " ".join(o.rstrip("/") for o in embed_origins if ORIGIN.match(o.rstrip("/")))
    policy = CSP.replace("frame-ancestors 'none'", f"frame-ancestors {origins or NONE}")
    player = PLAYER if show_stream else NONE
    return policy.replace("frame-src 'self'", f"frame-src {player}")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                for name, value in _defaults():
                    # A route with its own policy (a screen with embed origins) says who may
                    # frame it there; DENY would override it in older browsers.
                    own_policy = b"content-security-policy" in present
                    if name not in present and not (own_policy and name == b"x-frame-options"):
                        headers.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _defaults() -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
