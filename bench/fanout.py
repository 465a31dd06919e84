"""Screens: time from a moderator's decision to the event on N open streams, and server memory.

Two paths are measured:
- cross-process: `livewall serve` runs as its own process on a temporary SQLite file and the
  decisions are made here through the store, so the server learns of them only by polling its
  change feed (every 0.5 s): this is a worker beside `serve`, and the honest figure;
- in-process: the server runs in a thread of this process and `decide()` wakes the streams
  directly, as the console does; the clients share this process's GIL, so it is pessimistic.
The clients are bare sockets reading SSE lines, so the client side costs little.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.models import Post
from aggregator.moderation.decisions import decide
from aggregator.moderation.rules import Rules
from aggregator.settings import settings_from_mapping
from aggregator.store import Store
from collectors.base import Author, Candidate, CollectResult
from collectors.demo import Options
from tests.conftest import LiveServer

SCREEN_COUNTS = (50, 200)
DECISIONS = 10
SPACING = 0.1  # seconds between two decisions
CONFIG = """\
[storage]
url = "{url}"

[[sources]]
name = "demo"
type = "demo"

[[screens]]
name = "hall"
"""


@dataclass
class Figures:
    latencies_ms: list[float]
    rss_mib: float

    def line(self, path: str, screens: int, memory: str) -> str:
        ms = sorted(self.latencies_ms)
        p95 = ms[max(int(len(ms) * 0.95) - 1, 0)]
        return (
            f"  {path:<13} {screens:>3} streams × {DECISIONS} approvals = {len(ms):>4} events: "
            f"median {statistics.median(ms):4.0f} ms, p95 {p95:4.0f} ms, max {ms[-1]:4.0f} ms; "
            f"{memory} {self.rss_mib:.0f} MiB"
        )


async def listen(port: int, after: int, ready: asyncio.Event, arrivals: dict[int, float]) -> None:
    """One screen's stream: the arrival time of each event id, by sequence."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET /wall/hall/events?after={after} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    writer.write(request.encode())
    try:
        while line := await reader.readline():
            if line.startswith(b"event: hello"):
                ready.set()
            elif line.startswith(b"id: "):
                arrivals.setdefault(int(line[4:]), time.perf_counter())
    finally:
        writer.close()


async def measure(port: int, store: Store, ids: list[int], screens: int) -> list[float]:
    """Approve `ids` through `store` (which wakes the server at once when the server's own
    app uses that store: in-process; otherwise the server learns it from the store)."""
    after = store.last_seq()
    readies = [asyncio.Event() for _ in range(screens)]
    per_screen: list[dict[int, float]] = [{} for _ in range(screens)]
    clients = [
        asyncio.create_task(listen(port, after, ready, arrivals))
        for ready, arrivals in zip(readies, per_screen, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    await asyncio.sleep(0.5)
    sent: dict[int, float] = {}
    for post_id in ids:
        sent_at = time.perf_counter()
        outcome = await asyncio.to_thread(decide, store, post_id, "approve", "bench")
        sent[outcome.seq or 0] = sent_at
        await asyncio.sleep(SPACING)
    deadline = time.monotonic() + 30
    while any(not sent.keys() <= arrivals.keys() for arrivals in per_screen):
        if time.monotonic() > deadline:
            raise TimeoutError("some screens never received every approval")
        await asyncio.sleep(0.05)
    for client in clients:
        client.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    return [(arrivals[seq] - at) * 1000 for arrivals in per_screen for seq, at in sent.items()]


def pending_posts(store: Store, prefix: str, count: int) -> list[int]:
    posts = [
        Candidate(external_id=f"{prefix}{n}", url=None, author=Author(handle=f"@a{n}"),
                  text=f"Message {n} pour les écrans", created_at=datetime.now(UTC), language="fr")
        for n in range(count)
    ]  # fmt: skip
    Pipeline(store, Rules(mode="pre")).ingest(Options(name="demo"), CollectResult(posts=posts))
    with store.read() as session:
        query = select(Post).where(col(Post.external_id).startswith(prefix))
        return sorted(p.id for p in session.exec(query) if p.id is not None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "wall.cli", "--config", str(config), "serve"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/wall/", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"livewall serve did not start: {server.communicate()[1].decode()}")


def cross_process(folder: Path, store: Store, url: str) -> list[str]:
    config = folder / "fanout.toml"
    config.write_text(CONFIG.format(url=url))
    port = free_port()
    server = start_server(config, port)
    lines = []
    try:
        for screens in SCREEN_COUNTS:
            ids = pending_posts(store, f"x{screens}-", DECISIONS)
            latencies = asyncio.run(measure(port, store, ids, screens))
            figures = Figures(latencies, server_rss_mib(server.pid))
            lines.append(figures.line("cross-process", screens, "server RSS"))
    finally:
        server.terminate()
        server.wait(10)
    return lines


def in_process(store: Store, url: str) -> list[str]:
    settings = settings_from_mapping(
        {
            "storage": {"url": url},
            "screens": [{"name": "hall"}],
            "sources": [{"name": "demo", "type": "demo"}],
        }
    )
    app = Livewall(settings, store=store, env={})
    server = LiveServer(app).start()
    lines = []
    try:
        for screens in SCREEN_COUNTS:
            ids = pending_posts(store, f"i{screens}-", DECISIONS)
            latencies = asyncio.run(measure(server.port, store, ids, screens))
            rss = server_rss_mib(os.getpid())
            lines.append(Figures(latencies, rss).line("in-process", screens, "server+clients RSS"))
    finally:
        server.stop()
    return lines


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = f"sqlite:///{folder / 'fanout.db'}"
        store = Store(url)
        store.migrate()
        print(
            "screens: decision → event on every open stream (target < 1000 ms)\n"
            "  cross-process = `livewall serve` in its own process, decisions through the store,"
            " seen by its 0.5 s change-feed poll"
        )
        for line in cross_process(folder, store, url):
            print(line)
        print("  in-process = server thread in this process, decide() wakes the streams at once")
        for line in in_process(store, url):
            print(line)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of this process (clients, and the in-process server): {peak:.0f} MiB")
