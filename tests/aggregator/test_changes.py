from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from aggregator.changes import ChangeFeed
from aggregator.store import Store

pytestmark = pytest.mark.anyio


def write_change(url: str) -> int:
    """A change written by another store object: as another process would."""
    other = Store(url)
    try:
        with other.write() as session:
            return other.add_change(session, "post", post_id=1)
    finally:
        other.dispose()


@pytest.fixture
async def feed(store: Store) -> AsyncIterator[ChangeFeed]:
    """A started feed that only wakes when told (its poll is a minute away, nothing watched)."""
    feed = ChangeFeed(store, poll_seconds=60, watch_seconds=None)
    await feed.start()
    yield feed
    await feed.stop()


async def test_waiters_wake_on_notify_in_process(feed: ChangeFeed) -> None:
    waiter = asyncio.create_task(feed.wait_beyond(0, timeout=5))
    await asyncio.sleep(0.05)
    feed.notify(7)
    assert await waiter == 7


async def test_changes_from_another_process_wake_waiters(store: Store, database_url: str) -> None:
    # The poll is a minute away: LISTEN/NOTIFY (PostgreSQL) or the file's data_version
    # (SQLite) must do the waking. Before, SQLite relied on a poll every half second.
    feed = ChangeFeed(store, poll_seconds=60)
    await feed.start()
    try:
        await asyncio.sleep(0.5)  # let the listener connect
        waiter = asyncio.create_task(feed.wait_beyond(0, timeout=30))
        seq = await asyncio.to_thread(write_change, database_url)
        # Woken with the new sequence well before the poll (a minute away) could have: no
        # wall-clock bound, which a loaded machine breaks (bench/change_delay.py measures it).
        assert await waiter == seq
    finally:
        await feed.stop()


async def test_wait_times_out_without_change(feed: ChangeFeed) -> None:
    assert await feed.wait_beyond(0, timeout=0.1) == 0


async def test_a_waiter_cancelled_as_the_sequence_moves_is_still_cancelled(
    feed: ChangeFeed,
) -> None:
    # A stream or the image prefetch stopped at shutdown must stop, whatever arrives meanwhile.
    waiter = asyncio.create_task(feed.wait_beyond(0, timeout=60))
    await asyncio.sleep(0.05)
    feed._advance(3)  # in the same loop turn as the cancellation
    waiter.cancel()
    await asyncio.wait({waiter}, timeout=1)
    assert waiter.cancelled()
