"""The media cache against a real HTTP server on 127.0.0.1 serving good and bad images."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from aggregator.livewall import Livewall
from tests.http_servers import Handler, serving
from wall.egress import Address, any_address
from wall.media import MAX_BYTES, MAX_REDIRECTS, MediaCache, default_directory

pytestmark = pytest.mark.anyio


def image_bytes(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "#3fd0ff" if mode == "RGB" else 1).save(buffer, fmt)
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
FILES: dict[str, tuple[str, bytes]] = {
    "/photo.jpg": ("image/jpeg", image_bytes((3000, 2000), "JPEG")),
    "/logo.png": ("image/png", image_bytes((64, 64), "PNG", "RGBA")),
    "/logo.svg": ("image/svg+xml", SVG),
    "/disguised.jpg": ("image/jpeg", SVG),
    "/fake.png": ("image/png", b"GIF89a but not really an image at all"),
    "/huge.png": ("image/png", image_bytes((20000, 20), "PNG", "1")),
    "/big.jpg": ("image/jpeg", b"\xff\xd8\xff" + b"\0" * (MAX_BYTES + 10)),
}


REDIRECTS = {
    "/moved.jpg": "/photo.jpg",  # as a CDN does
    "/loop.jpg": "/loop.jpg",
    "/elsewhere.jpg": "http://127.0.0.2:{port}/photo.jpg",  # another host: the venue's network
}


class Images(Handler):
    hits: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        Images.hits[self.path] = Images.hits.get(self.path, 0) + 1
        if self.path in REDIRECTS:
            location = REDIRECTS[self.path].format(port=self.server.server_port)
            self.reply(302, headers={"Location": location})
            return
        if self.path not in FILES:
            self.send_error(404)
            return
        content_type, body = FILES[self.path]
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
