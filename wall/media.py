"""The media cache: remote images fetched by the server, checked, resized and served from
the wall's own origin, so a screen never contacts a third-party host.

A post's image URL becomes `/media/r/{token}.{sig}?s=card`: the token is the remote URL,
the signature an HMAC of it, so the wall fetches only URLs it rendered itself and is no
open proxy (the signing is aggregator/media_urls.py, shared with the digest's emails). The
type is read from the bytes by Pillow (never from the Content-Type the remote claims); SVG,
oversized files and huge dimensions are refused; the result is re-encoded (which also drops
metadata) and kept on disk under its URL's hash. Refusals are remembered too, so a bad
image is not fetched again by every screen.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from PIL import Image, UnidentifiedImageError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.media_urls import MediaUrls
from aggregator.media_urls import default_directory as default_directory
from collectors.demo import media_path

from .egress import AddressCheck, Blocked, GuardedTransport, is_public

log = logging.getLogger("livewall.media")
ONE_YEAR = "public, max-age=31536000, immutable"
MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 8000
MAX_PIXELS = 40_000_000
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# CDNs and media proxies redirect once or twice; a longer chain is not an image host.
MAX_REDIRECTS = 3
ACCEPTED = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
# Longest side of each rendition: a 1080p card, or an avatar.
SIZES = {"card": 1280, "avatar": 192}


class Refused(Exception):
    """An image the wall will not show; the message says why (kept on disk, shown in 422s)."""


@dataclass(frozen=True)
class Stored:
    body: bytes
    content_type: str


class MediaCache:
    def __init__(
        self,
        directory: Path,
        *,
        addresses: AddressCheck = is_public,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = directory
        # The key is LIVEWALL_SECRET_KEY's or the folder's, as for the worker's digest emails.
        self.urls = MediaUrls.in_directory(directory, env or {})
        # A post must not make the wall fetch from the venue's own network; tests serve
        # images from 127.0.0.1 and pass `any_address`.
        self.addresses = addresses
        self.transport = transport
        self._locks: dict[str, asyncio.Lock] = {}

    # Addresses -------------------------------------------------------------------------------

    def url(self, remote: str | None, size: str = "card") -> str | None:
        """The wall's own URL for a post's image or avatar (None: nothing to show)."""
        return self.urls.path(remote, size)

    def remote(self, signed: str) -> str:
        """The remote URL behind a signed token; 404 for anything the wall did not sign."""
        remote = self.urls.remote(signed)
        if remote is None:
            raise HTTPException(404, "unknown media address")
        return remote

    # Cache -------------------------------------------------------------------------------------

    def _path(self, remote: str, size: str) -> Path:
        name = hashlib.sha256(f"{size}\n{remote}".encode()).hexdigest()
        return self.directory / name[:2] / name

    async def get(self, remote: str, size: str = "card") -> Stored:
        """The checked image, from disk or fetched once (concurrent screens wait for one fetch)."""
        path = self._path(remote, size)
        found = await anyio.to_thread.run_sync(read_stored, path)
        if found is not None:
            return found
        lock = self._locks.setdefault(str(path), asyncio.Lock())
        async with lock:
            found = await anyio.to_thread.run_sync(read_stored, path)
            if found is not None:
                return found
            try:
                raw = await self._fetch(remote)
                image = await anyio.to_thread.run_sync(convert, raw, SIZES[size])
            except Refused as exc:
                await anyio.to_thread.run_sync(_write, path.with_suffix(".refused"), str(exc))
                raise
            await anyio.to_thread.run_sync(save_stored, path, image)
        self._locks.pop(str(path), None)
        return image

    async def warm(self, remote: str, size: str) -> None:
        """Fetch into the cache ahead of any screen; a failure only means a screen tries later."""
        path = self._path(remote, size)
        # Already kept, or already refused: nothing to fetch, and no need to read it back.
        if await anyio.to_thread.run_sync(_known, path):
            return
        try:
            await self.get(remote, size)
        except (Refused, httpx.HTTPError) as exc:
            log.info("image not prefetched (%s): %s", exc, remote)

    async def _fetch(self, remote: str) -> bytes:
        try:
            async with (
                httpx.AsyncClient(
                    timeout=FETCH_TIMEOUT,
                    # Every hop's connection is checked by the transport, so redirects are safe.
                    follow_redirects=True,
                    max_redirects=MAX_REDIRECTS,
                    transport=self.transport or GuardedTransport(self.addresses),
                    headers={"User-Agent": "livewall-media/1", "Accept": "image/*"},
                ) as client,
                client.stream("GET", remote) as response,
            ):
                return await _read_image(response)
        except Blocked as exc:
            raise Refused(str(exc)) from None
        except httpx.TooManyRedirects:
            raise Refused(f"more than {MAX_REDIRECTS} redirects") from None

    def routes(self) -> list[Route]:
        return [
            Route("/media/demo/{name}", demo_media),
            Route("/media/r/{signed}", self.serve),
        ]

    async def serve(self, request: Request) -> Response:
        remote = self.remote(request.path_params["signed"])
        size = request.query_params.get("s", "card")
        if size not in SIZES:
            raise HTTPException(400, f"query parameter 's' must be one of {sorted(SIZES)}")
        path = self._path(remote, size)
        refused = await anyio.to_thread.run_sync(_read_text, path.with_suffix(".refused"))
        if refused is not None:
            return _refusal(refused)
        try:
            image = await self.get(remote, size)
        except Refused as exc:
            return _refusal(str(exc))
        except httpx.HTTPError as exc:
            # A network failure is not remembered: the next screen's request tries again.
            return Response(
                f"cannot fetch the image now: {type(exc).__name__}",
                status_code=502,
                media_type="text/plain",
                headers={"Cache-Control": "no-store"},
            )
        return Response(
            image.body, media_type=image.content_type, headers={"Cache-Control": ONE_YEAR}
        )


async def _read_image(response: httpx.Response) -> bytes:
    if response.status_code != 200:
        raise Refused(f"the remote answered HTTP {response.status_code}")
    declared = int(response.headers.get("content-length") or 0)
    if declared > MAX_BYTES:
        raise Refused(f"too big: {declared} bytes (at most {MAX_BYTES})")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_BYTES:
            raise Refused(f"too big: more than {MAX_BYTES} bytes")
    return bytes(body)


def convert(raw: bytes, longest: int) -> Stored:
    """Check an image from its bytes and re-encode it at most `longest` pixels wide or tall."""
    if raw.lstrip()[:5].lower() in (b"<?xml", b"<svg ", b"<svg>"):
        raise Refused("SVG images are not accepted")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            kind = ACCEPTED.get(image.format or "")
            if kind is None:
                raise Refused(f"not an accepted image type ({image.format or 'unknown'})")
            width, height = image.size
            if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                raise Refused(f"dimensions too large: {width}x{height}")
            image.seek(0)  # the first frame of an animation
            image.thumbnail((longest, longest))
            return _encode(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise Refused(f"not a readable image ({type(exc).__name__})") from None


def _encode(image: Image.Image) -> Stored:
    buffer = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P") and _has_alpha(image):
        image.convert("RGBA").save(buffer, "PNG", optimize=True)
        return Stored(buffer.getvalue(), "image/png")
    image.convert("RGB").save(buffer, "JPEG", quality=82, optimize=True, progressive=True)
    return Stored(buffer.getvalue(), "image/jpeg")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") or "transparency" in image.info


def _known(path: Path) -> bool:
    return path.exists() or path.with_suffix(".refused").exists()


def read_stored(path: Path) -> Stored | None:
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    content_type = "image/png" if body[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return Stored(body, content_type)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def save_stored(path: Path, image: Stored) -> None:
    # Written aside then renamed: a screen never reads half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(image.body)
    partial.replace(path)


def _refusal(reason: str) -> Response:
    # Cached briefly: screens hide the image; staff see the reason in the response.
    return Response(
        f"image refused: {reason}",
        status_code=422,
        media_type="text/plain",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def demo_media(request: Request) -> Response:
    name = request.path_params["name"]
    path = media_path(name)
    if "/" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(404, "no such demo image")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), media_type=content_type, headers={"Cache-Control": ONE_YEAR})


def routes() -> list[Route]:
    """The demo images only (kept for callers without a cache); MediaCache.routes() has both."""
    return [Route("/media/demo/{name}", demo_media)]
