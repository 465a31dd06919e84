"""Screens report in: every screen POSTs a heartbeat, and staff list which ones are online.

    POST /api/screens/heartbeat   {"name", "version", "last_event_id", "viewport", "layout",
                                   "offline_copy"}
    GET  /api/screens             every configured (or reporting) screen, online or not

The heartbeat is public, like the screens that send it, but only for configured screen
names and with bounded fields; the listing is for staff (bearer token, as messages).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator.livewall import Livewall
from aggregator.messages import MessageError
from aggregator.models import Screen, utcnow
from wall.bodies import limited
from wall.messages import MAX_BODY, bearer, json_body, problem
from wall.params import whole

# Screens beat every 30 s: two missed beats and a margin make a screen offline.
ONLINE_WITHIN = timedelta(seconds=75)


def _text(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MessageError(f"field '{name}' must be a string, got {value!r}")
    return value[:limit]


def record(app: Livewall, body: dict[str, Any], client: str | None) -> Screen:
    name = _text(body, "name", 100)
    if not name or app.settings.screen(name) is None:
        raise MessageError(f"unknown screen {name!r}", status=404)
    last = body.get("last_event_id")
    if last is not None:
        if isinstance(last, str):  # JSON numbers only: whole() would read "12" too
            raise MessageError(f"field 'last_event_id' must be a whole number, got {last!r}")
        last = whole(last, "field 'last_event_id'")
    offline = body.get("offline_copy")
    if offline is not None and not isinstance(offline, bool):
        raise MessageError(f"field 'offline_copy' must be true or false, got {offline!r}")
    with app.store.write() as session:
        screen = session.get(Screen, name) or Screen(name=name)
        screen.offline_copy = offline
        screen.last_seen = utcnow()
        screen.version = _text(body, "version", 40)
        screen.last_event_id = last
        screen.viewport = _text(body, "viewport", 20)
        screen.client = client
        session.add(screen)
    return screen


def listing(app: Livewall, now: datetime) -> list[dict[str, Any]]:
    with app.store.read() as session:
        seen = {s.name: s for s in session.exec(select(Screen))}
    names = [s.name for s in app.settings.screens] + sorted(
        set(seen) - {s.name for s in app.settings.screens}
    )
    return [_row(app, name, seen.get(name), now) for name in names]


def _row(app: Livewall, name: str, screen: Screen | None, now: datetime) -> dict[str, Any]:
    settings = app.settings.screen(name)
    last_seen = screen.last_seen if screen else None
    return {
        "name": name,
        "configured": settings is not None,
        "layout": settings.layout if settings else None,
        "online": bool(last_seen and now - last_seen <= ONLINE_WITHIN),
        "last_seen": last_seen.isoformat() if last_seen else None,
        "version": screen.version if screen else None,
        "last_event_id": screen.last_event_id if screen else None,
        "viewport": screen.viewport if screen else None,
        "client": screen.client if screen else None,
        "offline_copy": screen.offline_copy if screen else None,
    }


def routes(app: Livewall) -> list[Route]:
    async def beat(request: Request) -> Response:
        client = request.client.host if request.client else None
        try:
            body = await json_body(request)
            await anyio.to_thread.run_sync(record, app, body, client)
        except MessageError as exc:
            return problem(exc.status, exc.message)
        return Response(status_code=204)

    async def screens(request: Request) -> Response:
        rows = await anyio.to_thread.run_sync(listing, app, utcnow())
        return JSONResponse({"screens": rows, "online_within_seconds": ONLINE_WITHIN.seconds})

    return [
        Route("/api/screens/heartbeat", limited(MAX_BODY, beat), methods=["POST"]),
        Route("/api/screens", bearer(app, screens), methods=["GET"]),
    ]
