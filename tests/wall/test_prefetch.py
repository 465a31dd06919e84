"""Images are in the media cache before a screen asks: fetched as posts arrive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.media_urls import shown_image
from aggregator.models import Post
from aggregator.moderation.rules import Rules
from collectors.base import Author, Candidate, Media
from tests.builders import candidate, result, source
from tests.http_servers import Handler, serving
from tests.wall.test_media import image_bytes, text_bomb
from wall.egress import any_address
from wall.media import MediaCache
from wall.prefetch import Prefetch

pytestmark = pytest.mark.anyio
PICTURE = image_bytes((800, 600), "JPEG")


class Remote(Handler):
    """A network's media server, counting what it is asked for: a bomb at /…/bomb.png, and
    /…/flaky.jpg fails once."""

    hits: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        Remote.hits[self.path] = Remote.hits.get(self.path, 0) + 1
        if self.path.endswith("/bomb.png"):
            self.reply(200, text_bomb(), {"Content-Type": "image/png"})
        elif self.path.endswith("/flaky.jpg") and Remote.hits[self.path] == 1:
            self.reply(503, b"busy")
        else:
            self.reply(200, PICTURE, {"Content-Type": "image/jpeg"})


@pytest.fixture(scope="module")
def remote() -> Iterator[str]:
    with serving(Remote) as port:
        yield f"http://127.0.0.1:{port}"


def post_with_images(
    external_id: str, remote: str, handle: str = "@lucie@mastodon.example"
) -> Candidate:
    return candidate(
        external_id,
        author=Author(handle=handle, name="Lucie", avatar_url=f"{remote}/{external_id}/avatar.jpg"),
        media=[
            Media(url=f"{remote}/{external_id}/photo.jpg", alt="La scène"),
            Media(
                url=f"{remote}/{external_id}/clip.mp4",
                type="video",
                preview_url=f"{remote}/{external_id}/clip.jpg",
            ),
            Media(url=f"{remote}/{external_id}/talk.mp3", type="audio"),
        ],
    )


async def wait_for(paths: set[str], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if paths <= set(Remote.hits):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not fetched: {sorted(paths - set(Remote.hits))}")


async def test_images_are_cached_as_posts_arrive_and_never_for_rejected_ones(
    livewall: Livewall, tmp_path: Path, remote: str
) -> None:
    Remote.hits.clear()
    cache = MediaCache(tmp_path / "media", addresses=any_address)
    prefetch = Prefetch(livewall, cache)
    await livewall.feed.start()
    await prefetch.start()
    try:
        rules = Rules(mode="pre", banned=frozenset({"spam@bad.example"}))
        pipeline = Pipeline(livewall.store, rules)
        batch = result(
            post_with_images("a1", remote), post_with_images("b1", remote, "@spam@bad.example")
        )
        await asyncio.to_thread(pipeline.ingest, source(), batch)
        await wait_for({"/a1/avatar.jpg", "/a1/photo.jpg", "/a1/clip.jpg"})
        # A later post is fetched once the first batch is done: nothing of it is still coming.
        await asyncio.to_thread(pipeline.ingest, source(), result(post_with_images("z9", remote)))
        await wait_for({"/z9/avatar.jpg"})
    finally:
        await prefetch.stop()
        await livewall.feed.stop()
    with livewall.store.read() as session:
        banned = session.exec(select(Post).where(Post.external_id == "b1")).one()
    assert banned.status == "rejected"
    # Only what a card shows: no video or audio file, nothing of the banned author's post.
    assert not {"/a1/clip.mp4", "/a1/talk.mp3"} & set(Remote.hits)
    assert not [p for p in Remote.hits if p.startswith("/b1/")]
    app = Starlette(routes=cache.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://w"
    ) as web:
        shown = await web.get(cache.url(f"{remote}/a1/photo.jpg") or "")
    assert shown.status_code == 200 and Remote.hits["/a1/photo.jpg"] == 1  # served from disk


def test_a_card_shows_a_video_by_its_preview_and_an_audio_not_at_all() -> None:
    assert shown_image({"type": "image", "url": "https://x/a.jpg"}) == "https://x/a.jpg"
    assert shown_image({"type": "video", "url": "https://x/v.mp4"}) is None
    assert (
        shown_image({"type": "gifv", "url": "https://x/v.mp4", "preview_url": "https://x/p.jpg"})
        == "https://x/p.jpg"
    )
    assert shown_image({"type": "audio", "url": "https://x/a.mp3"}) is None


@pytest.fixture
async def following(livewall: Livewall, tmp_path: Path) -> AsyncIterator[Pipeline]:
    """The prefetch following the change feed; yields the pipeline to ingest with."""
    Remote.hits.clear()
    cache = MediaCache(tmp_path / "media", addresses=any_address, retry_first=0.1)
    prefetch = Prefetch(livewall, cache)
    await livewall.feed.start()
    await prefetch.start()
    try:
        yield Pipeline(livewall.store, Rules(mode="pre"))
    finally:
        await prefetch.stop()
        await livewall.feed.stop()


def post_with_media(external_id: str, remote: str, *names: str) -> Candidate:
    media = [Media(url=f"{remote}/{external_id}/{name}", alt="") for name in names]
    return candidate(external_id, media=media)


async def test_a_bad_image_never_stops_the_rest_of_the_batch(
    following: Pipeline, remote: str, tmp_path: Path
) -> None:
    # Before: the bomb's ValueError ended the batch, and the other images were never fetched.
    photos = [f"photo{n}.jpg" for n in range(8)]
    batch = result(
        post_with_media("a1", remote, "bomb.png", *photos), post_with_media("b1", remote, "x.jpg")
    )
    await asyncio.to_thread(following.ingest, source(), batch)
    await wait_for({f"/a1/{name}" for name in photos} | {"/a1/bomb.png", "/b1/x.jpg"})
    await wait_for_files(tmp_path / "media", 10)  # 9 images and a refusal
    (refusal,) = (tmp_path / "media").rglob("*.refused")
    assert refusal.read_text().startswith("not a readable image (ValueError")


async def test_an_image_whose_remote_failed_for_now_is_fetched_again_later(
    following: Pipeline, remote: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(
        following.ingest, source(), result(post_with_media("c1", remote, "flaky.jpg"))
    )
    await wait_for_files(tmp_path / "media", 1)  # the post has one image and no avatar
    assert Remote.hits["/c1/flaky.jpg"] == 2  # a 503, then the image, with no screen asking
    assert not list((tmp_path / "media").rglob("*.refused"))


async def wait_for_files(folder: Path, count: int, seconds: float = 5.0) -> None:
    """Until the cache holds `count` files (images and refusals)."""
    for _ in range(int(seconds / 0.05)):
        if len([p for p in folder.rglob("*") if p.is_file()]) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{folder} does not hold {count} files")
