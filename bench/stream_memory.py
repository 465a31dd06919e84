"""What one open screen costs the server in Python memory, and where (tracemalloc).

The server runs in a thread of this process with tracemalloc on; the screens are
bench/clients.py in a process of their own. Snapshots are taken with no screen, with the
screens connected, and after a few posts reached them: the difference divided by the screens
is the Python memory each stream holds (the kernel's socket buffers are not in it).
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from aggregator.application import Livewall
from aggregator.settings import settings_from_mapping
from bench.servers import Clients, free_port
from collectors.base import Author, Candidate, CollectResult
from collectors.demo import Options
from wall.app import create_app

TOP = 6


def _post(livewall: Livewall, n: int) -> None:
    candidate = Candidate(
        external_id=f"memory-{n}",
        url=None,
        author=Author(handle=f"@membre{n}"),
        text=f"Publication numéro {n} pour les écrans du congrès",
        created_at=datetime.now(UTC),
        language="fr",
    )
    livewall.pipeline.ingest(Options(name="demo"), CollectResult(posts=[candidate]))


def serve_in_thread(livewall: Livewall, port: int) -> uvicorn.Server:
    config = uvicorn.Config(create_app(livewall), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 120  # a busy host takes its time to warm up
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.1)
    return server


def measure(folder: Path, screens: int) -> list[str]:
    settings = settings_from_mapping(
        {
            "storage": {"url": f"sqlite:///{folder / 'memory.db'}"},
            "screens": [{"name": "hall"}],
            "sources": [{"name": "demo", "type": "demo"}],
            "moderation": {"mode": "post"},
        }
    )
    livewall = Livewall(settings, env={"LIVEWALL_MEDIA_DIR": str(folder / "media")})
    livewall.store.migrate()
    port = free_port()
    server = serve_in_thread(livewall, port)
    clients = Clients()
    tracemalloc.start(8)
    try:
        before = tracemalloc.take_snapshot()
        clients.connect("memory", f"http://127.0.0.1:{port}/wall/hall/events", screens)
        connected = tracemalloc.take_snapshot()
        for n in range(5):
            _post(livewall, n)
        clients.wait_done("memory", 5)
        after = tracemalloc.take_snapshot()
        clients.stop()
    finally:
        tracemalloc.stop()
        clients.kill()
        server.should_exit = True
    return _report(before, connected, after, screens)


def _report(
    before: tracemalloc.Snapshot,
    connected: tracemalloc.Snapshot,
    after: tracemalloc.Snapshot,
    screens: int,
) -> list[str]:
    def grown(snapshot: tracemalloc.Snapshot) -> int:
        return sum(stat.size_diff for stat in snapshot.compare_to(before, "filename"))

    lines = [
        f"  Python memory per open screen (tracemalloc, {screens} screens, in-process server): "
        f"{grown(connected) / screens / 1024:.1f} KiB connected, "
        f"{grown(after) / screens / 1024:.1f} KiB after 5 posts",
        "  where it is, after the posts (per screen):",
    ]
    for stat in after.compare_to(before, "lineno")[:TOP]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno}"
        lines.append(f"    {stat.size_diff / screens:8.0f} B  {where}")
    return lines
