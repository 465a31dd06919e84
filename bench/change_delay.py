"""Cross-process change delay: a write committed by another process, until a feed here wakes.

"Another process" is another Store on the same database, whose commits this process's feed
is never told about directly: only the cross-process path (SQLite: the half-second poll
before, the file's data_version now; PostgreSQL: LISTEN/NOTIFY) can wake it.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from aggregator.changes import ChangeFeed
from aggregator.store import Store

WRITES = 30


async def delays(url: str, feed_options: dict[str, float | None]) -> list[float]:
    here, there = Store(url), Store(url)
    here.migrate()
    feed = ChangeFeed(here, **feed_options)
    await feed.start()
    await asyncio.sleep(0.5)  # let the listener connect
    measured = []
    try:
        for _ in range(WRITES):
            seq = feed.seq
            waiter = asyncio.create_task(feed.wait_beyond(seq, timeout=5))
            await asyncio.sleep(0.05)
            committed = await asyncio.to_thread(_write, there)
            await waiter
            measured.append(time.perf_counter() - committed)
            await asyncio.sleep(0.13)  # not in step with any poll
    finally:
        await feed.stop()
        here.dispose()
        there.dispose()
    return measured


def _write(store: Store) -> float:
    with store.write() as session:
        store.add_change(session, "screen", screen="bench")
    return time.perf_counter()


def line(name: str, measured: list[float]) -> str:
    ms = sorted(x * 1000 for x in measured)
    return (
        f"  {name}: median {statistics.median(ms):.0f} ms, "
        f"p90 {ms[int(len(ms) * 0.9) - 1]:.0f} ms, worst {ms[-1]:.0f} ms ({len(ms)} writes)"
    )


def main() -> None:
    print("cross-process change delay (a write elsewhere → this process's screens wake)")
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        before = asyncio.run(delays(url, {"poll_seconds": 0.5, "watch_seconds": None}))
        print(line("SQLite, polling every 0.5 s (before)", before))
        print(line("SQLite, data_version watched (now)", asyncio.run(delays(url, {}))))
    pg_url = os.environ.get("LIVEWALL_BENCH_DATABASE_URL")
    if pg_url:
        print(line("PostgreSQL, LISTEN/NOTIFY", asyncio.run(delays(pg_url, {}))))


if __name__ == "__main__":
    main()
