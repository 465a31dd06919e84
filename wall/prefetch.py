"""Images fetched into the media cache as posts arrive, before any screen asks for them.

Without it the first screen to show a post waits for the remote host (seconds when it is
slow), and a moderator approving a post would see it reach the hallway without its image.
Pending posts are fetched too: in pre-moderation the image is ready by the time staff
approve. Rejected and deleted posts are not fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import anyio

from aggregator.livewall import Livewall
from aggregator.media_urls import shown_image
from aggregator.models import Post
from aggregator.timeline import by_ids

from .media import MediaCache

log = logging.getLogger("livewall.media")
PARALLEL = 4
IDLE_SECONDS = 60.0


def images_of(post: Post) -> list[tuple[str, str]]:
    """(remote URL, rendition) of every image a card of `post` may show."""
    wanted = [(post.author_avatar, "avatar")]
    wanted += [(shown_image(item), "card") for item in post.media]
    return [(url, size) for url, size in wanted if url and url.startswith(("http://", "https://"))]


class Prefetch:
    def __init__(self, app: Livewall, cache: MediaCache, parallel: int = PARALLEL) -> None:
        self.app = app
        self.cache = cache
        self.parallel = parallel
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
            await self.app.feed.wait_beyond(done, IDLE_SECONDS)
            try:
                changes = await anyio.to_thread.run_sync(self.app.feed.since, done)
                if changes:
                    done = changes[-1].seq or done
                    ids = [c.post_id for c in changes if c.post_id is not None]
                    await self.fetch(await anyio.to_thread.run_sync(self._posts, ids))
            except Exception:  # a store hiccup must not end prefetching; screens still fetch
                log.exception("image prefetch failed; it goes on with the next changes")

    def _posts(self, ids: Sequence[int]) -> list[Post]:
        with self.app.store.read() as session:
            posts = by_ids(session, ids).values()
        return [p for p in posts if p.status in ("pending", "approved") and not p.deleted]

    async def fetch(self, posts: Sequence[Post]) -> None:
        wanted = {image for post in posts for image in images_of(post)}
        limit = anyio.Semaphore(self.parallel)

        async def one(url: str, size: str) -> None:
            async with limit:
                await self.cache.warm(url, size)

        async with anyio.create_task_group() as group:
            for url, size in sorted(wanted):
                group.start_soon(one, url, size)
