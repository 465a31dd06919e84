"""Starting and stopping `livewall serve`/`run` as real processes on free loopback ports: a busy
port, the public links, the session key's warning, and SIGTERM with screens connected."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.wall.processes import Livewall, free_port, write_config
from wall.screens import qr_code

pytestmark = pytest.mark.slow
DEMO = '[[sources]]\nname = "demo"\ntype = "demo"\nevery = 5\n'


def test_a_busy_port_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, sources=DEMO)
        server = Livewall(config, "run", "--port", str(port))
        status = server.finish()
    assert status == 1
    assert server.err.splitlines() == [
        f"livewall: error: port {port} is already in use on 127.0.0.1 (stop what uses it, "
        "or use --port)"
    ]
    assert server.out == ""  # no banner, no first account: nothing started
    assert not (tmp_path / "livewall.db").exists()  # no migration, no collection tick


def test_links_follow_the_port_unless_public_url_is_set(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Livewall(write_config(tmp_path), "serve", "--port", str(port))
    try:
        server.wait_answering(base)
        index = httpx.get(f"{base}/wall/", timeout=10).text
        screen = httpx.get(f"{base}/wall/hall", timeout=10).text
        feed = httpx.get(f"{base}/digest/feed.xml", timeout=10).text
    finally:
        server.stop()
    assert f"{base}/wall/hall" in index
    assert str(qr_code(f"{base}/wall/hall")) in screen  # the QR code in the corner
    assert f"{base}/digest/" in feed
    assert ":8000" not in index + screen + feed
    assert f"screens: {base}/wall/" in server.out

    (tmp_path / "livewall.db").unlink()
    port = free_port()
    extra = '[server]\npublic_url = "https://mur.example.org"'
    server = Livewall(write_config(tmp_path, extra), "serve", "--port", str(port))
    try:
        server.wait_answering(f"http://127.0.0.1:{port}")
        screen = httpx.get(f"http://127.0.0.1:{port}/wall/hall", timeout=10).text
    finally:
        server.stop()
    assert str(qr_code("https://mur.example.org/wall/hall")) in screen


def test_a_missing_session_key_is_a_warning_that_says_what_it_costs(tmp_path: Path) -> None:
    port = free_port()
    server = Livewall(write_config(tmp_path), "serve", "--port", str(port), key=False)
    server.wait_answering(f"http://127.0.0.1:{port}")
    assert server.stop() == 0
    warning = next(line for line in server.err.splitlines() if "LIVEWALL_SECRET_KEY" in line)
    assert warning.startswith("livewall: warning:")
    assert "every restart logs every moderator out" in warning


def test_sigterm_closes_the_screens_streams_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Livewall(write_config(tmp_path, sources=DEMO), "run", "--port", str(port))
    server.wait_answering(base)
    ended: list[float] = []

    def screen() -> None:
        with httpx.stream("GET", f"{base}/wall/hall/events", timeout=30) as stream:
            for _ in stream.iter_lines():
                pass  # until the server ends the stream
        ended.append(time.monotonic())

    screens = [threading.Thread(target=screen) for _ in range(2)]
    for thread in screens:
        thread.start()
    deadline = time.monotonic() + 10
    while "2.0" not in _open_streams(base) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.stop(signal.SIGTERM) == 0, server.err
    for thread in screens:
        thread.join(timeout=10)
    assert len(ended) == 2  # both streams were ended by the server, not by a timeout
    assert "livewall stopped: 2 streams closed." in server.out
    assert "Traceback" not in server.err


def _open_streams(base: str) -> str:
    metrics = httpx.get(f"{base}/metrics", timeout=5).text
    found = [line for line in metrics.splitlines() if line.startswith("livewall_screen_streams")]
    return found[0] if found else ""
