"""Screens report in: every screen POSTs a heartbeat, and staff list which ones are online.

    POST /api/screens/heartbeat   {"name", "version", "last_event_id", "viewport", "layout",
                                   "offline_copy"}
    GET  /api/screens             every configured (or reporting) screen, online or not

The heartbeat is public, like the screens that send it, but only for configured screen
names and with bounded fields; the listing is for staff (bearer token, as messages).
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator.application import Livewall
from aggregator.screens import ONLINE_WITHIN, Heartbeat, ScreenStatus
from aggregator.settings import Settings
from wall.api_tokens import bearer
from wall.bodies import JSON_LIMIT, limited, read_object
from wall.json_api import text_field
from wall.params import BadRequest, whole


def heartbeat(body: dict[str, Any], client: str | None, settings: Settings) -> Heartbeat:
    """A heartbeat's body, checked field by field; an unknown screen is a 404."""
    name = text_field(body, "name", 100)
    if not name or settings.screen(name) is None:
        raise HTTPException(404, f"unknown screen {name!r}")
    last = body.get("last_event_id")
    if last is not None:
        if isinstance(last, str):  # JSON numbers only: whole() would read "12" too
            raise BadRequest(f"field 'last_event_id' must be a whole number, got {last!r}")
        last = whole(last, "field 'last_event_id'")
    offline = body.get("offline_copy")
    if offline is not None and not isinstance(offline, bool):
        raise BadRequest(f"field 'offline_copy' must be true or false, got {offline!r}")
    return Heartbeat(
        name=name,
        version=text_field(body, "version", 40),
        last_event_id=last,
        viewport=text_field(body, "viewport", 20),
        offline_copy=offline,
        client=client,
    )


def _row(status: ScreenStatus) -> dict[str, Any]:
    beat, settings = status.beat, status.settings
    last_seen = beat.last_seen if beat else None
    return {
        "name": status.name,
        "configured": settings is not None,
        "layout": settings.layout if settings else None,
        "online": status.online,
        "last_seen": last_seen.isoformat() if last_seen else None,
        "version": beat.version if beat else None,
        "last_event_id": beat.last_event_id if beat else None,
        "viewport": beat.viewport if beat else None,
        "client": beat.client if beat else None,
        "offline_copy": beat.offline_copy if beat else None,
    }


def routes(app: Livewall) -> list[Route]:
    async def report(request: Request) -> Response:
        client = request.client.host if request.client else None
        beat = heartbeat(await read_object(request), client, app.settings)
        await anyio.to_thread.run_sync(app.screens.record, beat)
        return Response(status_code=204)

    async def screens(request: Request) -> Response:
        found = await anyio.to_thread.run_sync(app.screens.statuses)
        rows = [_row(status) for status in found]
        return JSONResponse({"screens": rows, "online_within_seconds": ONLINE_WITHIN.seconds})

    return [
        Route("/api/screens/heartbeat", limited(JSON_LIMIT, report), methods=["POST"]),
        Route("/api/screens", bearer(app, screens), methods=["GET"]),
    ]
