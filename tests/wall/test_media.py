"""The media cache against a real HTTP server on 127.0.0.1 serving good and bad images."""

from __future__ import annotations

import functools
import io
import socket
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import anyio
import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from aggregator.application import Livewall
from tests.http_servers import Handler, serving
from tests.memory import peak_growth
from wall.egress import Address, any_address
from wall.media import (
    MAX_BYTES,
    MAX_DECODED_BYTES,
    MAX_REDIRECTS,
    MediaCache,
    default_directory,
)

pytestmark = pytest.mark.anyio


def image_bytes(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "#3fd0ff" if mode == "RGB" else 1).save(buffer, fmt)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, extra: bytes = b"") -> bytes:
    """An RGBA PNG of zeros, compressed row by row: a 7999x5000 one never exists in memory."""
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + width * 4)  # filter byte, then the pixels
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


# Built when first served (each takes a second or two).
@functools.cache
def text_bomb() -> bytes:
    """A PNG whose compressed text chunk inflates to 50 MB."""
    comment = zlib.compress(b"a" * 50_000_000, 9)
    return png(8, 8, png_chunk(b"zTXt", b"Comment\0\0" + comment))


@functools.cache
def wide_rgba() -> bytes:
    return png(7999, 5000)  # about 152 KB; 160 MB of pixels once decoded


@functools.cache
def photo_24mp() -> bytes:
    return image_bytes((6000, 4000), "JPEG")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
FILES: dict[str, tuple[str, bytes | Callable[[], bytes]]] = {
    "/photo.jpg": ("image/jpeg", image_bytes((3000, 2000), "JPEG")),
    "/logo.png": ("image/png", image_bytes((64, 64), "PNG", "RGBA")),
    "/logo.svg": ("image/svg+xml", SVG),
    "/disguised.jpg": ("image/jpeg", SVG),
    "/fake.png": ("image/png", b"GIF89a but not really an image at all"),
    "/huge.png": ("image/png", image_bytes((20000, 20), "PNG", "1")),
    "/big.jpg": ("image/jpeg", b"\xff\xd8\xff" + b"\0" * (MAX_BYTES + 10)),
    "/bomb.png": ("image/png", text_bomb),
    "/wide.png": ("image/png", wide_rgba),
    "/camera.jpg": ("image/jpeg", photo_24mp),
}
FILES["/truncated.jpg"] = ("image/jpeg", image_bytes((3000, 2000), "JPEG")[:20000])
FILES["/flaky.jpg"] = FILES["/photo.jpg"]


REDIRECTS = {
    "/moved.jpg": "/photo.jpg",  # as a CDN does
    "/loop.jpg": "/loop.jpg",
    "/elsewhere.jpg": "http://127.0.0.2:{port}/photo.jpg",  # another host: the venue's network
}


class Images(Handler):
    hits: ClassVar[dict[str, int]] = {}
    # Paths that fail for now, with the status they answer, as many times as listed.
    failing: ClassVar[dict[str, list[int]]] = {}

    def do_GET(self) -> None:
        Images.hits[self.path] = Images.hits.get(self.path, 0) + 1
        if Images.failing.get(self.path):
            self.reply(Images.failing[self.path].pop(0), b"try later")
            return
        if self.path in REDIRECTS:
            location = REDIRECTS[self.path].format(port=self.server.server_port)
            self.reply(302, headers={"Location": location})
            return
        if self.path not in FILES:
            self.send_error(404)
            return
        content_type, body = FILES[self.path]
        body = body() if callable(body) else body
        # The big one does not say how big it is.
        self.reply(200, body, {"Content-Type": content_type}, say_length=self.path != "/big.jpg")


@pytest.fixture(scope="module")
def remote() -> Iterator[str]:
    with serving(Images) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def client(tmp_path: Path) -> Iterator[tuple[MediaCache, httpx.AsyncClient]]:
    cache = MediaCache(tmp_path / "media", addresses=any_address)
    app = Starlette(routes=cache.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wall") as http:
        yield cache, http


async def test_photo_is_resized_reencoded_and_cached_for_a_year(
    client: tuple[MediaCache, httpx.AsyncClient], remote: str
) -> None:
    cache, http = client
    url = cache.url(f"{remote}/photo.jpg")
    assert url and url.startswith("/media/r/")
    before = Images.hits.get("/photo.jpg", 0)
    first = await http.get(url)
    again = await http.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert (
        "immutable" in first.headers["cache-control"]
        and "max-age=31536000" in first.headers["cache-control"]
    )
    with Image.open(io.BytesIO(first.content)) as shown:
        assert max(shown.size) == 1280
    assert again.content == first.content
    assert Images.hits["/photo.jpg"] - before == 1  # fetched once, then from disk


async def test_avatar_keeps_transparency_at_avatar_size(
    client: tuple[MediaCache, httpx.AsyncClient], remote: str
) -> None:
    cache, http = client
    response = await http.get(cache.url(f"{remote}/logo.png", "avatar") or "")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/logo.svg", "SVG"),
        ("/disguised.jpg", "SVG"),
        ("/fake.png", "not a readable image"),
        ("/huge.png", "dimensions too large: 20000x20"),
        ("/big.jpg", "too big"),
        ("/missing.png", "HTTP 404"),
        ("/bomb.png", "not a readable image (ValueError: Decompressed data too large"),
        ("/truncated.jpg", "not a readable image (OSError: image file is truncated"),
        ("/wide.png", "dimensions too large: 7999x5000 RGBA takes 152 MiB to decode"),
    ],
)
async def test_bad_images_are_refused_with_the_reason_and_remembered(
    client: tuple[MediaCache, httpx.AsyncClient], remote: str, path: str, reason: str
) -> None:
    cache, http = client
    url = cache.url(f"{remote}{path}") or ""
    first = await http.get(url)
    assert first.status_code == 422 and reason in first.text
    hits = Images.hits.get(path, 0)
    assert (await http.get(url)).status_code == 422
    assert Images.hits.get(path, 0) == hits  # not fetched again


async def test_only_signed_addresses_are_fetched(
    client: tuple[MediaCache, httpx.AsyncClient], remote: str
) -> None:
    cache, http = client
    signed = cache.url(f"{remote}/photo.jpg") or ""
    token = signed.removeprefix("/media/r/").split(".")[0]
    assert (await http.get(f"/media/r/{token}.forged")).status_code == 404
    assert (await http.get(f"/media/r/{token}")).status_code == 404
    assert (await http.get(signed + "?s=poster")).status_code == 400
    assert cache.url("javascript:alert(1)") is None and cache.url(None) is None


async def test_demo_images_keep_their_scheme(client: tuple[MediaCache, httpx.AsyncClient]) -> None:
    cache, http = client
    assert cache.url("demo:stage.jpg") == "/media/demo/stage.jpg"
    response = await http.get("/media/demo/stage.jpg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert (await http.get("/media/demo/..%2Fposts.json")).status_code == 404


async def test_the_wall_refuses_private_addresses(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    # In production a post's image URL must not make the wall fetch from the local network.
    cache = MediaCache(default_directory(livewall.store.url, livewall.env))
    response = await web.get(cache.url("http://127.0.0.1:9/secret.png") or "")
    assert response.status_code == 422 and "private address" in response.text


async def test_redirects_are_followed_a_few_hops(
    client: tuple[MediaCache, httpx.AsyncClient], remote: str
) -> None:
    cache, http = client
    moved = await http.get(cache.url(f"{remote}/moved.jpg") or "")
    assert moved.status_code == 200 and moved.headers["content-type"] == "image/jpeg"
    before = Images.hits.get("/loop.jpg", 0)
    loop = await http.get(cache.url(f"{remote}/loop.jpg") or "")
    assert loop.status_code == 422 and f"more than {MAX_REDIRECTS} redirects" in loop.text
    assert Images.hits["/loop.jpg"] - before == MAX_REDIRECTS + 1


def only_this_server(address: Address) -> bool:
    return str(address) == "127.0.0.1"


async def test_a_redirect_cannot_lead_to_another_private_address(
    tmp_path: Path, remote: str
) -> None:
    # The server is allowed, as a public host would be; the address it redirects to is not.
    cache = MediaCache(tmp_path / "media", addresses=only_this_server)
    app = Starlette(routes=cache.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://w"
    ) as http:
        assert (await http.get(cache.url(f"{remote}/photo.jpg") or "")).status_code == 200
        away = await http.get(cache.url(f"{remote}/elsewhere.jpg") or "")
    assert away.status_code == 422 and "'127.0.0.2' is a private address" in away.text


async def test_a_host_name_is_checked_by_the_address_it_resolves_to(
    web: httpx.AsyncClient, livewall: Livewall, remote: str
) -> None:
    cache = MediaCache(default_directory(livewall.store.url, livewall.env))
    port = remote.rsplit(":", 1)[1]
    response = await web.get(cache.url(f"http://localhost:{port}/photo.jpg") or "")
    assert response.status_code == 422 and "'localhost' is a private address" in response.text


def test_cache_folder_sits_beside_the_sqlite_file(tmp_path: Path) -> None:
    assert default_directory(f"sqlite:///{tmp_path}/x.db", {}) == tmp_path / "media-cache"
    assert default_directory("sqlite:///x.db", {"LIVEWALL_MEDIA_DIR": "/srv/m"}) == Path("/srv/m")


async def test_an_image_too_big_to_decode_is_refused_from_its_header(
    client: tuple[MediaCache, httpx.AsyncClient], remote: str
) -> None:
    # Before: decoded and resized, about 360 MB for a 152 KB file.
    cache, http = client
    wide_rgba()
    with peak_growth() as memory:
        refused = await http.get(cache.url(f"{remote}/wide.png") or "")
    assert refused.status_code == 422 and "7999x5000" in refused.text
    assert memory.grown < 40, memory.grown  # the file, the request: nothing decoded


async def test_a_large_photo_is_decoded_at_a_reduced_scale_within_the_budget(
    client: tuple[MediaCache, httpx.AsyncClient], remote: str
) -> None:
    cache, http = client
    photo_24mp()  # made by the test (92 MiB for a moment) before measuring
    with peak_growth() as memory:
        shown = await http.get(cache.url(f"{remote}/camera.jpg") or "")
    assert shown.status_code == 200
    with Image.open(io.BytesIO(shown.content)) as image:
        assert image.size == (1280, 853)
    # 6000x4000 in full is 92 MiB; decoded at half scale, 23 MiB.
    assert memory.grown < MAX_DECODED_BYTES // 2**20, memory.grown


async def test_a_remote_that_fails_for_now_is_tried_again_later_not_refused(
    tmp_path: Path, remote: str
) -> None:
    # Before: a 503 was remembered as a refusal, and the image never shown.
    now = [0.0]
    cache = MediaCache(tmp_path / "media", addresses=any_address, clock=lambda: now[0])
    app = Starlette(routes=cache.routes())
    Images.failing["/flaky.jpg"] = [503, 502]
    url = cache.url(f"{remote}/flaky.jpg") or ""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://w"
    ) as http:
        first = await http.get(url)
        assert first.status_code == 503 and first.headers["retry-after"] == "30"
        assert "HTTP 503" in first.text and first.headers["cache-control"] == "no-store"
        now[0] = 29.0  # screens asking meanwhile do not reach the remote
        assert (await http.get(url)).headers["retry-after"] == "1"
        assert Images.hits["/flaky.jpg"] == 1
        now[0] = 30.0
        second = await http.get(url)  # a 502 this time: the wait doubles
        assert second.status_code == 503 and second.headers["retry-after"] == "60"
        now[0] = 90.0
        third = await http.get(url)
    assert third.status_code == 200 and third.headers["content-type"] == "image/jpeg"
    assert Images.hits["/flaky.jpg"] == 3


async def test_a_connection_that_fails_is_not_remembered_as_a_refusal(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media", addresses=any_address, retry_first=0.01)
    app = Starlette(routes=cache.routes())
    with serving(Images) as port:
        pass  # a port that was just closed: connections are refused
    url = cache.url(f"http://127.0.0.1:{port}/photo.jpg") or ""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://w"
    ) as http:
        answer = await http.get(url)
    assert answer.status_code == 503 and "ConnectError" in answer.text
    assert not list((tmp_path / "media").rglob("*.refused"))


async def test_a_dns_hiccup_is_tried_again_later_not_refused(
    tmp_path: Path, remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The resolver fails once (as a DNS server that times out does), then answers 127.0.0.1:
    # no test may ask a real DNS server.
    answers: list[str] = []

    async def resolver(host: str, port: int, **kwargs: object) -> list[Any]:
        answers.append(host)
        if len(answers) == 1:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(anyio, "getaddrinfo", resolver)
    now = [0.0]
    cache = MediaCache(tmp_path / "media", addresses=any_address, clock=lambda: now[0])
    app = Starlette(routes=cache.routes())
    url = cache.url(f"http://images.example:{remote.rsplit(':', 1)[1]}/photo.jpg") or ""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://w"
    ) as http:
        first = await http.get(url)
        now[0] = 30.0
        second = await http.get(url)
    assert first.status_code == 503 and "ConnectError" in first.text
    assert second.status_code == 200 and answers == ["images.example"] * 2
