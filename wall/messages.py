"""Staff messages on the screens, as a JSON API.

    GET    /api/screens/messages            active and recent messages
    POST   /api/screens/messages            JSON {"text", "kind": "announcement"|"emergency",
                                             "screens": [names] (announcements; empty: all),
                                             "minutes": n (announcements: how long)}
                                            or multipart/form-data with the same fields
                                            (`screens` repeated) and an optional `image` file
    DELETE /api/screens/messages/{id}       take one message down
    DELETE /api/screens/emergency           take every emergency message down
    GET    /media/staff/{name}              an announcement's image (public, like the screens)

Every /api route needs a bearer token (wall/api_tokens.py). The console's staff-posts page
drives the same service (app.messages) behind staff sessions; images are checked and kept by
wall/staff_images.py for both.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator.application import Livewall
from aggregator.messages import MessageError
from wall import bodies
from wall.api_tokens import bearer
from wall.json_api import field, problem
from wall.params import whole
from wall.staff_images import StaffImages, announce, too_big, upload_of


def _form_fields(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) else None

    minutes = (text("minutes") or "").strip()
    if minutes and not minutes.isdigit():
        raise MessageError(f"field 'minutes' must be a whole number, got {minutes!r}")
    return {
        "text": text("text") or "",
        "kind": text("kind") or "announcement",
        "screens": [s for s in form.getlist("screens") if isinstance(s, str) and s],
        "minutes": int(minutes) if minutes else None,
        "actor": text("actor"),
    }


def _json_fields(body: dict[str, Any]) -> dict[str, Any]:
    screens = field(body, "screens", list, [])
    if not all(isinstance(s, str) for s in screens):
        raise MessageError("field 'screens' must be a list of screen names")
    if "image" in body:
        raise MessageError("to attach an image, send multipart/form-data with an 'image' file")
    return {
        "text": field(body, "text", str, ""),
        "kind": field(body, "kind", str, "announcement"),
        "screens": screens,
        "minutes": field(body, "minutes", int),
        "actor": field(body, "actor", str),
    }


def routes(app: Livewall) -> list[Route]:
    images = StaffImages.of(app)

    async def listing(request: Request) -> Response:
        def read() -> dict[str, Any]:
            return {
                "active": [m.payload() for m in app.messages.active()],
                "recent": [m.payload() for m in app.messages.recent()],
            }

        return JSONResponse(await anyio.to_thread.run_sync(read))

    async def create(request: Request) -> Response:
        bodies.allow(request, bodies.UPLOAD_LIMIT if _multipart(request) else bodies.JSON_LIMIT)
        try:
            fields, upload = await _message_fields(request)
            actor = _actor(request, fields.pop("actor"))
            sent = await anyio.to_thread.run_sync(
                lambda: announce(app, images, upload=upload, actor=actor, **fields)
            )
        except bodies.BodyTooLarge as exc:
            return problem(413, too_big(exc.size).message if _multipart(request) else exc.message)
        except MessageError as exc:
            return problem(exc.status, exc.message)
        finally:
            await request.close()  # the form's spooled files
        return JSONResponse(sent.payload(), status_code=201)

    async def clear(request: Request) -> Response:
        message_id = whole(request.path_params["message_id"], "the message id")
        actor = getattr(request.state, "actor", "api")
        try:
            cleared = await anyio.to_thread.run_sync(app.messages.clear, message_id, actor)
        except MessageError as exc:
            return problem(exc.status, exc.message)
        return JSONResponse(cleared.payload())

    async def all_clear(request: Request) -> Response:
        actor = getattr(request.state, "actor", "api")
        cleared = await anyio.to_thread.run_sync(app.messages.clear_emergencies, actor)
        return JSONResponse({"cleared": [m.id for m in cleared]})

    return [
        Route("/api/screens/messages", bearer(app, listing), methods=["GET"]),
        Route("/api/screens/messages", bearer(app, create), methods=["POST"]),
        Route("/api/screens/messages/{message_id}", bearer(app, clear), methods=["DELETE"]),
        Route("/api/screens/emergency", bearer(app, all_clear), methods=["DELETE"]),
        Route("/media/staff/{name}", images.serve),
    ]


def _actor(request: Request, named: str | None) -> str:
    """An admin-created token acts under its own name; the shared server token may say who."""
    actor = getattr(request.state, "actor", "api")
    return (named or actor) if actor == "api" else actor


def _multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def _message_fields(request: Request) -> tuple[dict[str, Any], bytes | None]:
    if _multipart(request):
        form = await bodies.read_form(request, max_files=1, max_fields=50)
        return _form_fields(form), await upload_of(form)
    body = await bodies.read_object(request)
    return _json_fields(body), None
