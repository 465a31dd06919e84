"""Staff messages on the screens, as a JSON API (the console drives the same functions later).

    GET    /api/screens/messages            active and recent messages
    POST   /api/screens/messages            {"text", "kind": "announcement"|"emergency",
                                             "screens": [names] (announcements; empty: all),
                                             "minutes": n (announcements: how long)}
    DELETE /api/screens/messages/{id}       take one message down
    DELETE /api/screens/emergency           take every emergency message down

Every route needs `Authorization: Bearer $LIVEWALL_API_TOKEN` (401 otherwise); the console
will put staff sessions in front. The logic lives in aggregator/messages.py.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator import messages
from aggregator.livewall import Livewall

TOKEN_ENV = "LIVEWALL_API_TOKEN"
MAX_BODY = 16_384

Endpoint = Callable[[Request], Awaitable[Response]]


def problem(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def bearer(app: Livewall, endpoint: Endpoint) -> Endpoint:
    """Let a request through only with the API token (compared in constant time)."""

    async def guarded(request: Request) -> Response:
        expected = app.env.get(TOKEN_ENV, "")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not expected:
            return problem(401, f"the API is closed: set {TOKEN_ENV} on the server")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
            return problem(401, "missing or wrong bearer token", **{"WWW-Authenticate": "Bearer"})
        return await endpoint(request)

    return guarded


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise messages.MessageError(f"body too large ({len(raw)} bytes, at most {MAX_BODY})")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise messages.MessageError(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise messages.MessageError("body must be a JSON object")
    return body


def field(body: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = body.get(name, default)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise messages.MessageError(f"field '{name}' must be {kind.__name__}, got {value!r}")
    return value


def routes(app: Livewall) -> list[Route]:
    def publish(seq: int) -> None:
        app.feed.notify(seq)

    async def listing(request: Request) -> Response:
        def read() -> dict[str, Any]:
            return {
                "active": [m.payload() for m in messages.active(app.store)],
                "recent": [m.payload() for m in messages.recent(app.store)],
            }

        return JSONResponse(await anyio.to_thread.run_sync(read))

    async def create(request: Request) -> Response:
        try:
            body = await json_body(request)
            screens = field(body, "screens", list, [])
            if not all(isinstance(s, str) for s in screens):
                raise messages.MessageError("field 'screens' must be a list of screen names")
            options = {
                "kind": field(body, "kind", str, "announcement"),
                "screens": screens,
                "minutes": field(body, "minutes", int),
                "actor": field(body, "actor", str, "api"),
                "known_screens": [s.name for s in app.settings.screens],
                "publish": publish,
            }
            text = field(body, "text", str, "")
            sent = await anyio.to_thread.run_sync(lambda: messages.send(app.store, text, **options))
        except messages.MessageError as exc:
            return problem(exc.status, exc.message)
        return JSONResponse(sent.payload(), status_code=201)

    async def clear(request: Request) -> Response:
        raw = request.path_params["message_id"]
        if not raw.isdigit():
            return problem(400, f"message id must be a whole number, got {raw!r}")
        try:
            cleared = await anyio.to_thread.run_sync(
                lambda: messages.clear(app.store, int(raw), publish=publish)
            )
        except messages.MessageError as exc:
            return problem(exc.status, exc.message)
        return JSONResponse(cleared.payload())

    async def all_clear(request: Request) -> Response:
        cleared = await anyio.to_thread.run_sync(
            lambda: messages.clear_emergencies(app.store, publish=publish)
        )
        return JSONResponse({"cleared": [m.id for m in cleared]})

    return [
        Route("/api/screens/messages", bearer(app, listing), methods=["GET"]),
        Route("/api/screens/messages", bearer(app, create), methods=["POST"]),
        Route("/api/screens/messages/{message_id}", bearer(app, clear), methods=["DELETE"]),
        Route("/api/screens/emergency", bearer(app, all_clear), methods=["DELETE"]),
    ]
