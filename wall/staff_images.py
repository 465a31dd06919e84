"""The images staff attach to announcements: checked, re-encoded and kept by the wall.

An image is checked and re-encoded by the media cache's own `convert` (type read from the
bytes: JPEG, PNG, WebP or GIF, never SVG; at most 8 MB), at most 1600 px, and kept in the
media cache folder under the SHA-256 of its bytes, so its address never changes content and
screens cache it for a year (GET /media/staff/{name}, public like the screens).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from aggregator import messages
from aggregator.application import Livewall
from aggregator.i18n import N_
from wall import media

IMAGE_BYTES = media.MAX_BYTES
# Longest side of an announcement's image: sharp on a 1080p screen, light on venue Wi-Fi.
IMAGE_SIDE = 1600
MEGABYTE = 1024 * 1024


class ImageRefused(messages.MessageError):
    """An image staff cannot attach: `message` (English) for the API, `msgid` % `values` for
    the console's translated error."""

    def __init__(self, message: str, msgid: str, status: int = 400, **values: Any) -> None:
        super().__init__(message, status)
        self.msgid = msgid
        self.values = values


def too_big(size: int) -> ImageRefused:
    return ImageRefused(
        f"image too big: {size} bytes (at most {IMAGE_BYTES})",
        N_("The image is too large: %(size)s MB (at most %(limit)s MB)."),
        status=413,
        size=size / MEGABYTE,
        limit=IMAGE_BYTES // MEGABYTE,
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
        if len(raw) > IMAGE_BYTES:
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
        N_("SVG images are not accepted: send a JPEG, PNG, WebP or GIF image."),
    )


def _refused(reason: str) -> ImageRefused:
    if "SVG" in reason:
        return _svg()
    if reason.startswith("dimensions"):
        # Both bounds at once: a side too long, or too many pixels to decode in memory.
        return ImageRefused(
            f"image refused: {reason}",
            N_(
                "The image has too many pixels (at most %(side)s pixels on a side and about "
                "%(millions)s million pixels in all)."
            ),
            side=media.MAX_SIDE,
            millions=media.MAX_DECODED_BYTES // 4 // 1_000_000,
        )
    return ImageRefused(
        f"not an accepted image ({reason}): JPEG, PNG, WebP or GIF only",
        N_("This file is not an image the screens accept: send a JPEG, PNG, WebP or GIF image."),
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
    image = prepared.name if prepared else None
    app.messages.check(text, kind, screens, minutes, image)
    if prepared is not None:
        images.keep(prepared)
    return app.messages.send(
        text, kind=kind, screens=screens, minutes=minutes, actor=actor, image=image
    )


async def upload_of(form: FormData, name: str = "image") -> bytes | None:
    """The bytes of an optional file field (an empty file input sends an empty part)."""
    value = form.get(name)
    if not isinstance(value, UploadFile):
        return None
    raw = await value.read(IMAGE_BYTES + 1)
    if not raw and not value.filename:
        return None
    if len(raw) > IMAGE_BYTES:
        raise too_big(value.size or len(raw))
    return raw
