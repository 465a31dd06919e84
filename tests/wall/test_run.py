"""`livewall run`, the all-in-one command of the quick start, as a real process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_run_shows_demo_posts_within_seconds(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    default = (REPO / "config" / "default.toml").read_text(encoding="utf-8")
    (config / "default.toml").write_text(default, encoding="utf-8")
    (config / "blocked-words").symlink_to(REPO / "config" / "blocked-words")
    port = free_port()
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        posts = wait_for_posts(f"http://127.0.0.1:{port}", server)
        elapsed = time.monotonic() - started
        # The target is < 10 s on an idle machine (README); the bound here is generous so a
        # loaded CI machine does not fail it, while a wall that never fills still does.
        assert posts and elapsed < 30, f"{len(posts)} posts after {elapsed:.1f} s"
        page = httpx.get(f"http://127.0.0.1:{port}/wall/hall", timeout=5)
        assert page.status_code == 200 and posts[0]["author_name"] in page.text
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    assert f"http://127.0.0.1:{port}/wall/hall" in out
    assert f"http://127.0.0.1:{port}/console" in out and f"http://127.0.0.1:{port}/digest/" in out
    assert "Traceback" not in err
    assert (tmp_path / "livewall.db").exists()


def wait_for_posts(base: str, server: subprocess.Popen[str]) -> list[dict[str, str]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            posts = httpx.get(f"{base}/api/posts", timeout=2).json()["posts"]
        except httpx.TransportError:
            posts = []
        if posts:
            return posts
        time.sleep(0.2)
    return []
