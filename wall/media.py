"""The media cache: remote images fetched by the server, checked, resized and served from
the wall's own origin, so a screen never contacts a third-party host.

A post's image URL becomes `/media/r/{token}.{sig}?s=card`: the token is the remote URL,
the signature an HMAC of it, so the wall fetches only URLs it rendered itself and is no
open proxy (the signing is aggregator/media_urls.py, shared with the digest's emails). The
type is read from the bytes by Pillow (never from the Content-Type the remote claims); SVG,
oversized files and images whose pixels would take too much memory are refused from the
header, before anything is decoded; the result is re-encoded (which also drops metadata) and
kept on disk under its URL's hash. Refusals are remembered too, so a bad image is not
fetched again by every screen. A remote that fails for now (5xx, 429, a timeout, a DNS or
connection error) is not a refusal: it is tried again later, waiting longer each time.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import math
import mimetypes
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from PIL import Image, ImageMode, UnidentifiedImageError
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
# What one image may take once decoded, read from its header before decoding: 4000x4000
# with transparency, or 16 megapixels of RGB (Pillow keeps a pixel of 2 to 4 bands in 4
# bytes). JPEGs are decoded at a reduced scale first, so a 24-megapixel photo fits.
MAX_DECODED_BYTES = 64 * 1024 * 1024
DECODES_AT_ONCE = 2
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# CDNs and media proxies redirect once or twice; a longer chain is not an image host.
MAX_REDIRECTS = 3
ACCEPTED = ["JPEG", "PNG", "GIF", "WEBP"]  # Pillow's names; no other reader sees the bytes
# A remote that failed for now is tried again after 30 s, 1 min, 2 min… at most an hour.
RETRY_FIRST = 30.0
RETRY_MOST = 3600.0
TRANSIENT_STATUS = frozenset({408, 425, 429})
# Longest side of each rendition: a 1080p card, or an avatar.
SIZES = {"card": 1280, "avatar": 192}


class Refused(Exception):
    """An image the wall will not show; the message says why (kept on disk, shown in 422s)."""


class Unavailable(Exception):
    """The remote cannot give the image now; `retry_in` seconds until the next try."""

    def __init__(self, reason: str, retry_in: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_in = retry_in


@dataclass
class Backoff:
    failures: int
    until: float


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
        retry_first: float = RETRY_FIRST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        # The key is LIVEWALL_SECRET_KEY's or the folder's, as for the worker's digest emails.
        self.urls = MediaUrls.in_directory(directory, env or {})
        # A post must not make the wall fetch from the venue's own network; tests serve
        # images from 127.0.0.1 and pass `any_address`.
        self.addresses = addresses
        self.transport = transport
        self.retry_first = retry_first
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        # Remotes that failed for now, by cache path: in memory, a restart tries them at once.
        self._backoff: dict[Path, Backoff] = {}
        self._decodes = asyncio.Semaphore(DECODES_AT_ONCE)

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
        """The checked image, from disk or fetched once (concurrent screens wait for one fetch).

        Raises Refused (for good: remembered on disk) or Unavailable (for now)."""
        path = self._path(remote, size)
        found = await anyio.to_thread.run_sync(read_stored, path)
        if found is not None:
            return found
        lock = self._locks.setdefault(str(path), asyncio.Lock())
        try:
            async with lock:
                return await self._get_once(remote, size, path)
        finally:
            if not lock.locked():
                self._locks.pop(str(path), None)

    async def _get_once(self, remote: str, size: str, path: Path) -> Stored:
        found = await anyio.to_thread.run_sync(read_stored, path)
        if found is not None:
            return found
        self._wait_turn(path)
        try:
            raw = await self._fetch(remote)
            async with self._decodes:  # a few at a time: each may take MAX_DECODED_BYTES
                image = await anyio.to_thread.run_sync(convert, raw, SIZES[size])
        except Refused as exc:
            await anyio.to_thread.run_sync(_write, path.with_suffix(".refused"), str(exc))
            raise
        except Unavailable as exc:
            raise self._failed(path, exc) from None
        self._backoff.pop(path, None)
        await anyio.to_thread.run_sync(save_stored, path, image)
        return image

    def _wait_turn(self, path: Path) -> None:
        backoff = self._backoff.get(path)
        if backoff is not None and backoff.until > self.clock():
            left = backoff.until - self.clock()
            reason = f"the remote failed for now ({backoff.failures} tries); next in {left:.0f} s"
            raise Unavailable(reason, left)

    def _failed(self, path: Path, exc: Unavailable) -> Unavailable:
        failures = self._backoff[path].failures + 1 if path in self._backoff else 1
        wait = min(self.retry_first * 2 ** min(failures - 1, 16), RETRY_MOST)
        if len(self._backoff) >= 10_000:  # many failing images: forget the oldest
            del self._backoff[next(iter(self._backoff))]
        self._backoff[path] = Backoff(failures, self.clock() + wait)
        return Unavailable(str(exc), wait)

    async def warm(self, remote: str, size: str) -> float | None:
        """Fetch into the cache ahead of any screen. A failure only means a screen tries
        later; after a failure for now, the seconds until it is worth trying again."""
        path = self._path(remote, size)
        # Already kept, or already refused: nothing to fetch, and no need to read it back.
        if await anyio.to_thread.run_sync(_known, path):
            return None
        try:
            await self.get(remote, size)
        except Refused as exc:
            log.info("image refused (%s): %s", exc, remote)
        except Unavailable as exc:
            log.info("image not prefetched (%s): %s", exc, remote)
            return exc.retry_in
        return None

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
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise Refused(f"not an address to fetch ({exc})") from None
        except httpx.HTTPError as exc:  # timeouts, refused connections, DNS, broken replies
            raise Unavailable(f"cannot fetch the image now ({type(exc).__name__})") from None

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
        except Unavailable as exc:
            # Not remembered for good: a later request tries again once the wait is over.
            return Response(
                f"cannot fetch the image now: {exc}",
                status_code=503,
                media_type="text/plain",
                headers={
                    "Cache-Control": "no-store",
                    "Retry-After": str(max(math.ceil(exc.retry_in), 1)),
                },
            )
        return Response(
            image.body, media_type=image.content_type, headers={"Cache-Control": ONE_YEAR}
        )


async def _read_image(response: httpx.Response) -> bytes:
    status = response.status_code
    if status >= 500 or status in TRANSIENT_STATUS:
        raise Unavailable(f"the remote answered HTTP {status}")
    if status != 200:
        raise Refused(f"the remote answered HTTP {status}")
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
        with Image.open(io.BytesIO(raw), formats=ACCEPTED) as image:
            _check_size(image, longest)
            image.seek(0)  # the first frame of an animation
            image.thumbnail((longest, longest))
            return _encode(image)
    except Refused:
        raise
    except UnidentifiedImageError:
        raise Refused("not a readable image: not a JPEG, PNG, GIF or WebP file") from None
    # Untrusted bytes: whatever a decoder raises on them is the image's fault, not ours
    # (a PNG text chunk that inflates too far is a ValueError, a truncated file an OSError…).
    except (Exception, Image.DecompressionBombWarning) as exc:
        raise Refused(f"not a readable image ({type(exc).__name__}: {exc})"[:300]) from None


def _check_size(image: Image.Image, longest: int) -> None:
    """Refuse from the header alone (Image.open decodes nothing) what would take too much
    memory to decode; a JPEG is first set to decode at the smallest scale that is enough."""
    width, height = image.size
    if max(width, height) > MAX_SIDE:
        raise Refused(f"dimensions too large: {width}x{height} (at most {MAX_SIDE} pixels a side)")
    scale = 2 * longest / max(width, height)  # thumbnail() keeps this much before resizing
    if scale < 1:
        image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
    needed = decoded_bytes(image)
    if needed > MAX_DECODED_BYTES:
        raise Refused(
            f"dimensions too large: {width}x{height} {image.mode} takes {needed // 2**20} MiB "
            f"to decode (at most {MAX_DECODED_BYTES // 2**20} MiB)"
        )


def decoded_bytes(image: Image.Image) -> int:
    """The memory decoding `image` takes, from its header: Pillow keeps a pixel of two bands
    or more in 4 bytes, and one band in its sample's size."""
    mode = ImageMode.getmode(image.mode)
    per_pixel = 4 if len(mode.bands) > 1 else int(mode.typestr[-1])
    width, height = image.size
    return width * height * per_pixel


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
