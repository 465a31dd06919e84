"""Screens: time from a moderator's decision to the event on N open streams, and server memory."""

from __future__ import annotations

import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import select

from aggregator.ingest import Pipeline
from aggregator.livewall import Livewall
from aggregator.models import Post
from aggregator.moderation import decide
from aggregator.rules import Rules
from aggregator.settings import settings_from_mapping
from aggregator.store import Store
from collectors.base import Author, Candidate, CollectResult
from collectors.demo import Options
from tests.conftest import LiveServer

SCREENS = 50
DECISIONS = 10


async def listen(url: str, ready: asyncio.Event, arrivals: dict[str, float], count: int) -> None:
    async with httpx.AsyncClient(timeout=30) as client, client.stream("GET", url) as response:
        ready.set()
        seen = 0
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                arrivals.setdefault(f"{id(arrivals)}-{line}", time.perf_counter())
                seen += 1
                if seen == count:
                    return


async def measure(server: LiveServer, app: Livewall, ids: list[int]) -> list[float]:
    latencies: list[float] = []
    waits = []
    per_screen: list[dict[str, float]] = [{} for _ in range(SCREENS)]
    readies = [asyncio.Event() for _ in range(SCREENS)]
    after = app.store.last_seq()
    for n in range(SCREENS):
        url = f"{server.url}/wall/hall/events?after={after}"
        waits.append(asyncio.create_task(listen(url, readies[n], per_screen[n], DECISIONS)))
    await asyncio.gather(*(r.wait() for r in readies))
    await asyncio.sleep(0.3)
    sent: dict[int, float] = {}
    for post_id in ids:
        sent_at = time.perf_counter()
        outcome = await asyncio.to_thread(
            decide, app.store, post_id, "approve", "bench", None, app.feed.notify
        )
        sent[outcome.seq or 0] = sent_at
        await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*waits), 30)
    for arrivals in per_screen:
        for key, at in arrivals.items():
            seq = int(key.rsplit("id: ", 1)[1])
            latencies.append(at - sent[seq])
    return latencies


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'fanout.db'}"
        store = Store(url)
        store.migrate()
        settings = settings_from_mapping(
            {
                "storage": {"url": url},
                "screens": [{"name": "hall"}],
                "sources": [{"name": "demo", "type": "demo"}],
            }
        )
        app = Livewall(settings, store=store, env={})
        posts = [
            Candidate(external_id=f"f{n}", url=None, author=Author(handle=f"@a{n}"), text=f"Message {n} pour les écrans",
                      created_at=datetime.now(UTC), language="fr")
            for n in range(DECISIONS)
        ]  # fmt: skip
        Pipeline(store, Rules(mode="pre")).ingest(Options(name="demo"), CollectResult(posts=posts))
        with store.read() as session:
            ids = [p.id for p in session.exec(select(Post)) if p.id is not None]
        server = LiveServer(app).start()
        try:
            latencies = asyncio.run(measure(server, app, ids))
        finally:
            server.stop()
    ms = sorted(x * 1000 for x in latencies)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"screens: {SCREENS} streams × {DECISIONS} approvals = {len(ms)} events; decision → screen "
        f"median {statistics.median(ms):.0f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.0f} ms, max {ms[-1]:.0f} ms "
        f"(target < 1000 ms); peak memory of server + clients {rss:.0f} MiB"
    )
