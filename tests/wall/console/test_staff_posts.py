"""Staff posts with an image, through the console's form: accepted images are re-encoded and
served from the wall's own origin; bad files are refused in French with nothing stored; the
session, its CSRF token and the API tokens work as for every console form."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from aggregator import accounts, messages
from aggregator.application import Livewall
from aggregator.settings import Settings
from aggregator.store import Store
from tests.wall.console.conftest import add_staff, login
from tests.wall.wall_data import asgi_client

pytestmark = pytest.mark.anyio
SCREENS = [{"name": "hall", "layout": "grid"}, {"name": "scene", "layout": "spotlight"}]
MB = 1024 * 1024


def picture(kind: str = "JPEG", size: tuple[int, int] = (3000, 2000), mode: str = "RGB") -> bytes:
    """A real image with a gradient (and, for JPEG, camera metadata that must not survive)."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    extra = {}
    if kind == "JPEG":
        exif = Image.Exif()
        exif[0x010F] = "Appareil de Marie"  # Make
        extra["exif"] = exif.tobytes()
    image.save(buffer, kind, **extra)
    return buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
SVG_AFTER_COMMENT = b'<!-- logo --><svg xmlns="http://www.w3.org/2000/svg" width="10"/>'


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def staff_app(make_settings: Callable[..., Settings], store: Store, media_dir: Path) -> Livewall:
    settings = make_settings(screens=SCREENS)
    return Livewall(settings, store=store, env={"LIVEWALL_MEDIA_DIR": str(media_dir)})


@pytest.fixture
async def client(staff_app: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(staff_app) as client:
        yield client


def stored(media_dir: Path) -> list[Path]:
    return sorted((media_dir / "staff").glob("*")) if (media_dir / "staff").exists() else []


def announcement(csrf: str | None, text: str = "Le dîner est servi au niveau 4") -> dict[str, str]:
    data = {"op": "announce", "text": text, "minutes": "15", "screens": "hall"}
    return {**data, "csrf": csrf} if csrf else data


async def post(
    client: httpx.AsyncClient, data: dict[str, str], image: tuple[str, bytes, str] | None
) -> httpx.Response:
    files = {"image": image} if image else {"image": ("", b"", "application/octet-stream")}
    return await client.post("/console/messages", data=data, files=files)


async def test_an_announcement_with_an_image_is_reencoded_and_served_from_our_origin(
    client: httpx.AsyncClient, staff_app: Livewall, media_dir: Path
) -> None:
    add_staff(staff_app, "marie")
    csrf = await login(client, "marie")
    raw = picture("JPEG", (3000, 2000))
    sent = await post(client, announcement(csrf), ("photo.jpg", raw, "image/jpeg"))
    assert sent.status_code == 303, sent.text
    [message] = messages.active(staff_app.store)
    assert message.image and message.created_by == "marie" and message.screens == ["hall"]
    url = message.payload()["image"]
    assert url == f"/media/staff/{message.image}"
    served = await client.get(url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert "max-age=31536000" in served.headers["cache-control"]
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "JPEG" and image.size == (1600, 1067)
        assert not image.getexif()  # re-encoded: the camera's metadata is gone
    assert served.content != raw and stored(media_dir) == [media_dir / "staff" / message.image]
    page = await client.get("/console/messages")
    assert f'src="{url}"' in page.text  # the staff see it in the recent list


@pytest.mark.parametrize(
    ("kind", "mode", "content_type"),
    [("PNG", "RGBA", "image/png"), ("WEBP", "RGB", "image/jpeg"), ("GIF", "P", "image/jpeg")],
)
async def test_png_webp_and_gif_are_accepted(
    client: httpx.AsyncClient, staff_app: Livewall, kind: str, mode: str, content_type: str
) -> None:
    add_staff(staff_app, "marie")
    csrf = await login(client, "marie")
    raw = picture(kind, (800, 600), mode)
    if kind == "PNG":  # transparency is kept (as PNG), so a logo keeps its shape
        image = Image.open(io.BytesIO(raw))
        image.putpixel((0, 0), (0, 0, 0, 0))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        raw = buffer.getvalue()
    sent = await post(client, announcement(csrf), (f"x.{kind.lower()}", raw, "image/x"))
    assert sent.status_code == 303, sent.text
    [message] = messages.active(staff_app.store)
    served = await client.get(message.payload()["image"])
    assert served.headers["content-type"] == content_type


async def test_an_announcement_without_an_image_still_works(
    client: httpx.AsyncClient, staff_app: Livewall, media_dir: Path
) -> None:
    add_staff(staff_app, "marie")
    csrf = await login(client, "marie")
    assert (await post(client, announcement(csrf), None)).status_code == 303
    [message] = messages.active(staff_app.store)
    assert message.image is None and message.payload()["image"] is None
    assert stored(media_dir) == []


BAD_FILES = [
    (("logo.svg", SVG, "image/svg+xml"), 400, "Les images SVG ne sont pas acceptées"),
    (("logo.png", SVG_AFTER_COMMENT, "image/png"), 400, "Les images SVG ne sont pas acceptées"),
    (
        ("photo.jpg", b"MZ\x90\x00 this is a program, not a photo" * 40, "image/jpeg"),
        400,
        "Ce fichier n&#39;est pas une image que les écrans acceptent",
    ),
    (
        ("photo.tiff", picture("TIFF", (50, 50)), "image/jpeg"),
        400,
        "Ce fichier n&#39;est pas une image que les écrans acceptent",
    ),
    # Within 8000 pixels a side, but too many pixels to decode (the memory budget).
    (
        ("affiche.png", picture("PNG", (5000, 4500), "RGBA"), "image/png"),
        400,
        "L&#39;image compte trop de pixels (8000 pixels au plus de côté et environ 16 millions",
    ),
    # Within the body limit, refused when the file is read…
    (("big.jpg", b"\xff\xd8" + b"\0" * (8 * MB + 10), "image/jpeg"), 413, "8,0 Mo"),
    # …and far above it, refused before the body is read.
    (("huge.jpg", b"\xff\xd8" + b"\0" * (12 * MB), "image/jpeg"), 413, "12,0 Mo"),
]


async def test_a_bad_file_is_refused_in_french_and_nothing_is_stored(
    client: httpx.AsyncClient, staff_app: Livewall, media_dir: Path
) -> None:
    add_staff(staff_app, "marie")
    csrf = await login(client, "marie")  # once: Argon2 is slow on purpose
    for upload, status, french in BAD_FILES:
        answer = await post(client, announcement(csrf), upload)
        assert answer.status_code == status, upload[0]
        error = re.search(r'<p class="error" role="alert">([^<]+)</p>', answer.text)
        assert error is not None and french in error.group(1), (upload[0], answer.text[:2000])
        if status == 413:
            assert "L&#39;image est trop lourde" in error.group(1)
            assert "(8 Mo au plus)" in error.group(1)
        assert messages.recent(staff_app.store) == [] and stored(media_dir) == [], upload[0]


async def test_a_refused_message_leaves_no_image_behind(
    client: httpx.AsyncClient, staff_app: Livewall, media_dir: Path
) -> None:
    add_staff(staff_app, "marie")
    csrf = await login(client, "marie")
    data = {**announcement(csrf), "screens": "lobby"}  # no such screen
    answer = await post(client, data, ("photo.jpg", picture("JPEG", (200, 100)), "image/jpeg"))
    assert answer.status_code == 400 and "unknown screens" in answer.text
    assert stored(media_dir) == [] and messages.recent(staff_app.store) == []


async def test_session_csrf_and_tokens_are_still_enforced(
    client: httpx.AsyncClient, staff_app: Livewall, media_dir: Path
) -> None:
    image = ("photo.jpg", picture("JPEG", (200, 100)), "image/jpeg")
    anonymous = await post(client, announcement(None), image)
    assert anonymous.status_code == 303 and "/console/login" in anonymous.headers["location"]
    too_big_anonymous = await post(client, announcement(None), ("x.jpg", b"0" * 9 * MB, "x/y"))
    assert too_big_anonymous.status_code == 303  # no page, not even an error, for strangers
    add_staff(staff_app, "marie")
    csrf = await login(client, "marie")
    forged = await post(client, announcement("not-the-token"), image)
    assert forged.status_code == 403 and "CSRF" in forged.text
    missing = await post(client, announcement(None), image)
    assert missing.status_code == 403
    assert messages.recent(staff_app.store) == [] and stored(media_dir) == []
    # A script's API token needs no CSRF token (browsers never send it on their own).
    secret = accounts.create_token(staff_app.store, "affiches", "moderator", "ada")
    client.cookies.clear()
    scripted = await client.post(
        "/console/messages",
        data=announcement(None),
        files={"image": image},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert scripted.status_code == 303
    [message] = messages.active(staff_app.store)
    assert message.created_by == "token:affiches" and message.image
    assert csrf  # the session's token was there all along; only the forged ones failed


async def test_only_our_own_names_are_served(client: httpx.AsyncClient) -> None:
    for name in ["../.key", "x.jpg", "A" * 64 + ".jpg", "0" * 64 + ".svg", "0" * 64 + ".jpg"]:
        assert (await client.get(f"/media/staff/{name}")).status_code == 404, name
