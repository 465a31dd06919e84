"""The change feed: screens and consoles wait here for the store's change sequence to move.

In one process the pipeline wakes waiters directly. Across processes (a `worker` beside
`serve`) PostgreSQL's LISTEN/NOTIFY does, on a dedicated connection; the store's sequence is
also polled, which is the only way on SQLite and covers notifications missed while the
listening connection was down (PostgreSQL never replays them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import anyio
import psycopg
from sqlmodel import col, select

from aggregator.models import Change
from aggregator.store import NOTIFY_CHANNEL, Store

POLL_SECONDS = 0.5
log = logging.getLogger("livewall.changes")


class ChangeFeed:
    def __init__(self, store: Store, poll_seconds: float = POLL_SECONDS) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.seq = 0
        self._moved = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._moved = asyncio.Event()
        self.seq = await anyio.to_thread.run_sync(self.store.last_seq)
        self._poller = asyncio.create_task(self._poll(), name="livewall-change-poll")
        if not self.store.is_sqlite:
            self._listener = asyncio.create_task(self._listen(), name="livewall-change-listen")

    async def stop(self) -> None:
        for task in (self._poller, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._poller = self._listener = None

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

    def wake(self) -> None:
        """Wake every waiter without a change (on the loop's thread): a stream that is
        closing finds out now rather than at its next ping."""
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def wait_beyond(self, seq: int, timeout: float) -> int:
        """Return the current sequence once it passes `seq`, or after `timeout` seconds."""
        if self.seq > seq:
            return self.seq
        moved = self._moved
        # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives as the
        # event is set, and the waiting task (a stream, the prefetch) then never stops.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await moved.wait()
        return self.seq

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                self._advance(await anyio.to_thread.run_sync(self.store.last_seq))
            except Exception:  # a store hiccup must not end the feed; the next poll retries
                continue

    async def _listen(self) -> None:
        """LISTEN on a dedicated autocommit connection that runs nothing else; reconnect forever."""
        delay = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.store.libpq_url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    delay = 1.0
                    # Catch up on what happened while not listening.
                    self._advance(await anyio.to_thread.run_sync(self.store.last_seq))
                    async for notice in conn.notifies():
                        self._advance(int(notice.payload))
            except (psycopg.Error, OSError, ValueError) as exc:
                log.warning("change listener lost its connection (%s); retrying", exc)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 30.0)

    def since(self, seq: int, limit: int = 500) -> list[Change]:
        """Changes after `seq`, oldest first (blocking: call from a thread)."""
        with self.store.read() as session:
            query = (
                select(Change).where(col(Change.seq) > seq).order_by(col(Change.seq)).limit(limit)
            )
            return list(session.exec(query))
