"""The change feed: screens and consoles wait here for the store's change sequence to move.

In one process the pipeline wakes waiters directly. Across processes (a `worker` beside
`serve`) the store's sequence is polled, which also covers a missed wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib

import anyio
from sqlmodel import col, select

from aggregator.models import Change
from aggregator.store import Store

POLL_SECONDS = 0.5


class ChangeFeed:
    def __init__(self, store: Store, poll_seconds: float = POLL_SECONDS) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.seq = 0
        self._moved = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._moved = asyncio.Event()
        self.seq = await anyio.to_thread.run_sync(self.store.last_seq)
        self._poller = asyncio.create_task(self._poll(), name="livewall-change-poll")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    def notify(self, seq: int) -> None:
        """Called from any thread once a transaction that made changes has committed."""
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._advance, seq)

    def _advance(self, seq: int) -> None:
        if seq > self.seq:
            self.seq = seq
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()

    async def wait_beyond(self, seq: int, timeout: float) -> int:
        """Return the current sequence once it passes `seq`, or after `timeout` seconds."""
        if self.seq > seq:
            return self.seq
        moved = self._moved
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(moved.wait(), timeout)
        return self.seq

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                self._advance(await anyio.to_thread.run_sync(self.store.last_seq))
            except Exception:  # a store hiccup must not end the feed; the next poll retries
                continue

    def since(self, seq: int, limit: int = 500) -> list[Change]:
        """Changes after `seq`, oldest first (blocking: call from a thread)."""
        with self.store.read() as session:
            query = (
                select(Change).where(col(Change.seq) > seq).order_by(col(Change.seq)).limit(limit)
            )
            return list(session.exec(query))
