"""Images fetched into the media cache as posts arrive, before any screen asks for them.

Without it the first screen to show a post waits for the remote host (seconds when it is
slow), and a moderator approving a post would see it reach the hallway without its image.
Pending posts are fetched too: in pre-moderation the image is ready by the time staff
approve. Rejected and deleted posts are not fetched. An image whose remote failed for now is
tried again later (waiting longer each time) while its post is still pending or approved;
one image's failure, whatever it is, never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import anyio

from aggregator.application import Livewall
from aggregator.media_urls import shown_image
from aggregator.models import Post

from .media import MediaCache

log = logging.getLogger("livewall.media")
PARALLEL = 4
IDLE_SECONDS = 60.0
RETRIES_KEPT = 1000
Image = tuple[str, str]  # remote URL, rendition


def images_of(post: Post) -> list[Image]:
    """(remote URL, rendition) of every image a card of `post` may show."""
    wanted = [(post.author_avatar, "avatar")]
    wanted += [(shown_image(item), "card") for item in post.media]
    return [(url, size) for url, size in wanted if url and url.startswith(("http://", "https://"))]


class Prefetch:
    def __init__(self, app: Livewall, cache: MediaCache, parallel: int = PARALLEL) -> None:
        self.app = app
        self.cache = cache
        self.parallel = parallel
        # Images to try again: when (the cache's clock), and for which post.
        self.later: dict[Image, tuple[float, int]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="livewall-media-prefetch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        done = self.app.feed.seq
        while True:
            await self.app.feed.wait_beyond(done, self._idle())
            try:
                changes = await anyio.to_thread.run_sync(self.app.feed.since, done)
                if changes:
                    done = changes[-1].seq or done
                    ids = [c.post_id for c in changes if c.post_id is not None]
                    await self.fetch(await anyio.to_thread.run_sync(self._posts, ids))
                await self._retry_due()
            except Exception:  # a store hiccup must not end prefetching; screens still fetch
                log.exception("image prefetch failed; it goes on with the next changes")

    def _idle(self) -> float:
        if not self.later:
            return IDLE_SECONDS
        soonest = min(when for when, _ in self.later.values()) - self.cache.clock()
        return min(max(soonest, 0.01), IDLE_SECONDS)

    def _posts(self, ids: Sequence[int]) -> list[Post]:
        posts = self.app.posts.by_ids(ids).values()
        return [p for p in posts if p.status in ("pending", "approved") and not p.deleted]

    async def fetch(self, posts: Sequence[Post]) -> None:
        await self._warm({image: post.id or 0 for post in posts for image in images_of(post)})

    async def _retry_due(self) -> None:
        now = self.cache.clock()
        due = {image: post for image, (when, post) in self.later.items() if when <= now}
        if not due:
            return
        for image in due:
            del self.later[image]
        # Only while the post may still be shown: nothing of a post rejected meanwhile.
        wanted = {p.id for p in await anyio.to_thread.run_sync(self._posts, list(due.values()))}
        await self._warm({image: post for image, post in due.items() if post in wanted})

    async def _warm(self, images: dict[Image, int]) -> None:
        limit = anyio.Semaphore(self.parallel)

        async def one(image: Image, post: int) -> None:
            async with limit:
                try:
                    wait = await self.cache.warm(*image)
                except Exception:  # one image's surprise never stops the rest of the batch
                    log.exception("image prefetch failed: %s", image[0])
                    return
            if wait is not None and len(self.later) < RETRIES_KEPT:
                self.later[image] = (self.cache.clock() + wait, post)

        async with anyio.create_task_group() as group:
            for image, post in sorted(images.items()):
                group.start_soon(one, image, post)
