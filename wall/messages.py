"""Staff messages on the screens, as a JSON API, and the images staff attach to announcements.

    GET    /api/screens/messages            active and recent messages
    POST   /api/screens/messages            JSON {"text", "kind": "announcement"|"emergency",
                                             "screens": [names] (announcements; empty: all),
                                             "minutes": n (announcements: how long)}
                                            or multipart/form-data with the same fields
                                            (`screens` repeated) and an optional `image` file
    DELETE /api/screens/messages/{id}       take one message down
    DELETE /api/screens/emergency           take every emergency message down
    GET    /media/staff/{name}              an announcement's image (public, like the screens)

Every /api route needs `Authorization: Bearer <token>`: an API token an admin creates in the
console (Accounts page), or the server's LIVEWALL_API_TOKEN; 401 otherwise. The console's
staff-posts page drives the same functions behind staff sessions; the logic lives in
aggregator/messages.py.

An image is checked and re-encoded by the media cache's own `convert` (type read from the
bytes: JPEG, PNG, WebP or GIF, never SVG; at most 8 MB), at most 1600 px, and kept in the
media cache folder under the SHA-256 of its bytes, so its address never changes content and
screens cache it for a year.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator import accounts, messages
from aggregator.livewall import Livewall
from wall import bodies, media
from wall.params import whole

TOKEN_ENV = "LIVEWALL_API_TOKEN"
MAX_BODY = 16_384
MAX_IMAGE_BYTES = media.MAX_BYTES
# Room for the text fields and the multipart framing around the image.
MAX_UPLOAD = MAX_IMAGE_BYTES + 256 * 1024
# Longest side of an announcement's image: sharp on a 1080p screen, light on venue Wi-Fi.
IMAGE_SIDE = 1600
MEGABYTE = 1024 * 1024

Endpoint = Callable[[Request], Awaitable[Response]]


def problem(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def bearer(app: Livewall, endpoint: Endpoint) -> Endpoint:
    """Let a request through with an admin-created API token or LIVEWALL_API_TOKEN.

    The token's name becomes the actor (`request.state.actor`) of what the request does.
    """

    async def guarded(request: Request) -> Response:
        expected = app.env.get(TOKEN_ENV, "")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given:
            if expected and hmac.compare_digest(given.encode(), expected.encode()):
                request.state.actor = "api"
                return await endpoint(request)
            staff = await anyio.to_thread.run_sync(accounts.check_token, app.store, given)
            if staff is not None:
                request.state.actor = staff.name
                return await endpoint(request)
        return problem(
            401,
            "missing or wrong bearer token: send an API token an admin created in the console "
            f"(Accounts page), or the server's {TOKEN_ENV}",
            **{"WWW-Authenticate": "Bearer"},
        )

    return guarded


async def json_body(request: Request) -> dict[str, Any]:
    """A JSON object of at most the route's limit (MAX_BODY for the JSON routes)."""
    body = await bodies.read_json(request)
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


# Images ------------------------------------------------------------------------------------


class ImageRefused(messages.MessageError):
    """An image staff cannot attach: `message` (English) for the API, `msgid` % `values` for
    the console's translated error."""

    def __init__(self, message: str, msgid: str, status: int = 400, **values: Any) -> None:
        super().__init__(message, status)
        self.msgid = msgid
        self.values = values


def too_big(size: int) -> ImageRefused:
    return ImageRefused(
        f"image too big: {size} bytes (at most {MAX_IMAGE_BYTES})",
        "The image is too large: %(size)s MB (at most %(limit)s MB).",
        status=413,
        size=size / MEGABYTE,
        limit=MAX_IMAGE_BYTES // MEGABYTE,
    )


@dataclass(frozen=True)
class Prepared:
    name: str
    image: media.Stored


class StaffImages:
    """Announcement images in the media cache folder (its `staff/` part), served from
    /media/staff/{name}."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "staff"

    @classmethod
    def of(cls, app: Livewall) -> StaffImages:
        return cls(media.default_directory(app.store.url, app.env))

    def prepare(self, raw: bytes) -> Prepared:
        """Check and re-encode an upload (blocking: call it in a thread); nothing is stored."""
        if len(raw) > MAX_IMAGE_BYTES:
            raise too_big(len(raw))
        # The cache's own check only looks at the first bytes; an SVG after a comment or
        # doctype would be refused anyway, as unreadable, but staff deserve the real reason.
        if b"<svg" in raw[:4096].lower():
            raise _svg()
        try:
            image = media.convert(raw, IMAGE_SIDE)
        except media.Refused as exc:
            raise _refused(str(exc)) from None
        extension = "png" if image.content_type == "image/png" else "jpg"
        return Prepared(f"{hashlib.sha256(image.body).hexdigest()}.{extension}", image)

    def keep(self, prepared: Prepared) -> str:
        # The media cache's own writer: written aside then renamed, never half a file.
        media.save_stored(self.directory / prepared.name, prepared.image)
        return prepared.name

    def path(self, name: str) -> Path:
        if not messages.IMAGE_NAME.fullmatch(name):
            raise HTTPException(404, "no such image")
        return self.directory / name

    async def serve(self, request: Request) -> Response:
        path = self.path(request.path_params["name"])
        found = await anyio.to_thread.run_sync(media.read_stored, path)
        if found is None:
            raise HTTPException(404, "no such image")
        return Response(
            found.body, media_type=found.content_type, headers={"Cache-Control": media.ONE_YEAR}
        )


def _svg() -> ImageRefused:
    return ImageRefused(
        "SVG images are not accepted (JPEG, PNG, WebP or GIF only)",
        "SVG images are not accepted: send a JPEG, PNG, WebP or GIF image.",
    )


def _refused(reason: str) -> ImageRefused:
    if "SVG" in reason:
        return _svg()
    if reason.startswith("dimensions"):
        # Both bounds at once: a side too long, or too many pixels to decode in memory.
        return ImageRefused(
            f"image refused: {reason}",
            "The image has too many pixels (at most %(side)s pixels on a side and about "
            "%(millions)s million pixels in all).",
            side=media.MAX_SIDE,
            millions=media.MAX_DECODED_BYTES // 4 // 1_000_000,
        )
    return ImageRefused(
        f"not an accepted image ({reason}): JPEG, PNG, WebP or GIF only",
        "This file is not an image the screens accept: send a JPEG, PNG, WebP or GIF image.",
    )


def announce(
    app: Livewall,
    images: StaffImages,
    text: str,
    upload: bytes | None,
    *,
    kind: str = "announcement",
    screens: Sequence[str] = (),
    minutes: int | None = None,
    actor: str = "api",
) -> messages.Message:
    """Send a message with an optional image (blocking): everything is checked before the
    image is stored, so a refused message leaves nothing behind."""
    prepared = images.prepare(upload) if upload is not None else None
    known = [s.name for s in app.settings.screens]
    image = prepared.name if prepared else None
    messages.check(text, kind, screens, minutes, known, image)
    if prepared is not None:
        images.keep(prepared)
    return messages.send(
        app.store, text, kind=kind, screens=screens, minutes=minutes, actor=actor,
        known_screens=known, image=image,
    )  # fmt: skip


# Uploads -----------------------------------------------------------------------------------


async def upload_of(form: FormData, name: str = "image") -> bytes | None:
    """The bytes of an optional file field (an empty file input sends an empty part)."""
    value = form.get(name)
    if not isinstance(value, UploadFile):
        return None
    raw = await value.read(MAX_IMAGE_BYTES + 1)
    if not raw and not value.filename:
        return None
    if len(raw) > MAX_IMAGE_BYTES:
        raise too_big(value.size or len(raw))
    return raw


def _form_fields(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) else None

    minutes = (text("minutes") or "").strip()
    if minutes and not minutes.isdigit():
        raise messages.MessageError(f"field 'minutes' must be a whole number, got {minutes!r}")
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
        raise messages.MessageError("field 'screens' must be a list of screen names")
    if "image" in body:
        raise messages.MessageError(
            "to attach an image, send multipart/form-data with an 'image' file"
        )
    return {
        "text": field(body, "text", str, ""),
        "kind": field(body, "kind", str, "announcement"),
        "screens": screens,
        "minutes": field(body, "minutes", int),
        "actor": field(body, "actor", str),
    }


# Routes ------------------------------------------------------------------------------------


def routes(app: Livewall) -> list[Route]:
    images = StaffImages.of(app)

    async def listing(request: Request) -> Response:
        def read() -> dict[str, Any]:
            return {
                "active": [m.payload() for m in messages.active(app.store)],
                "recent": [m.payload() for m in messages.recent(app.store)],
            }

        return JSONResponse(await anyio.to_thread.run_sync(read))

    async def create(request: Request) -> Response:
        bodies.allow(request, MAX_UPLOAD if _multipart(request) else MAX_BODY)
        try:
            fields, upload = await _message_fields(request)
            actor = _actor(request, fields.pop("actor"))
            sent = await anyio.to_thread.run_sync(
                lambda: announce(app, images, upload=upload, actor=actor, **fields)
            )
        except bodies.BodyTooLarge as exc:
            return problem(413, too_big(exc.size).message if _multipart(request) else exc.message)
        except messages.MessageError as exc:
            return problem(exc.status, exc.message)
        finally:
            await request.close()  # the form's spooled files
        return JSONResponse(sent.payload(), status_code=201)

    async def clear(request: Request) -> Response:
        message_id = whole(request.path_params["message_id"], "the message id")
        actor = getattr(request.state, "actor", "api")
        try:
            cleared = await anyio.to_thread.run_sync(
                lambda: messages.clear(app.store, message_id, actor)
            )
        except messages.MessageError as exc:
            return problem(exc.status, exc.message)
        return JSONResponse(cleared.payload())

    async def all_clear(request: Request) -> Response:
        actor = getattr(request.state, "actor", "api")
        cleared = await anyio.to_thread.run_sync(
            lambda: messages.clear_emergencies(app.store, actor)
        )
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
    body = await json_body(request)
    return _json_fields(body), None
