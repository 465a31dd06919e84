"""The processes a bench measures: `livewall run`, the bare broadcast, and the screens' clients.

Every one is its own process, started with the file-descriptor limit raised (a thousand
streams need a thousand sockets on each side), and measured through /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import psycopg

from collectors.webhook import sign

SECRET = "bench-webhook-secret"
CONFIG = """\
[event]
name = "Bench"
languages = {languages}

[storage]
url = "{url}"

[moderation]
mode = "{mode}"

[[sources]]
name = "relais"
type = "webhook"
secret_env = "LIVEWALL_BENCH_SECRET"

[[screens]]
name = "hall"
"""


def raise_file_limit() -> None:
    """Children inherit it: a thousand streams are a thousand sockets on each side."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + 240  # a busy host takes its time to start

    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    said = log.read_text(errors="replace")[-2000:] if log else process.communicate()[1].decode()
    raise RuntimeError(f"{url} did not answer: {said}")


class Server:
    """A server process on 127.0.0.1: its events URL and how a post is made on it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, events: str) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.events = self.base + events

    @property
    def rss(self) -> float:
        return rss_mib(self.process.pid)

    @property
    def cpu(self) -> float:
        """Seconds of CPU the process has used (user and system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        # Ctrl+C, not SIGTERM: uvicorn raises SIGTERM again once it has stopped, which ends
        # the process before a profiler can write its file.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Livewall(Server):
    """`livewall run` (web, scheduler and webhook in one process) on a config of its own."""

    def __init__(
        self, folder: Path, url: str, languages: tuple[str, ...] = ("fr", "en"), mode: str = "post"
    ) -> None:
        config = folder / f"bench-{uuid.uuid4().hex[:8]}.toml"
        config.write_text(CONFIG.format(url=url, languages=json.dumps(list(languages)), mode=mode))
        port = free_port()
        env = {
            "PATH": "/usr/bin:/bin",
            "LIVEWALL_BENCH_SECRET": SECRET,
            "LIVEWALL_MEDIA_DIR": str(folder / "media"),
            "LIVEWALL_SECRET_KEY": "bench-session-key-" + "x" * 32,
        }
        # LIVEWALL_BENCH_PROFILE=file: the server's event loop under cProfile, written at its stop.
        profile = os.environ.get("LIVEWALL_BENCH_PROFILE")
        python = [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else [])]
        command = [*python, "-m", "wall.cli", "--config", str(config), "run"]
        # Its log to a file: a pipe nobody reads would stop the server once full.
        self.log = config.with_suffix(".log")
        with self.log.open("wb") as log:
            process = subprocess.Popen(
                [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=log, env=env
            )
        super().__init__(process, port, "/wall/hall/events")
        wait_until_up(process, f"{self.base}/wall/", self.log)
        self.admin_password = _first_password(process)

    def post(self, client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
        """The webhook's answer: the post's id, status and outcome."""
        raw = json.dumps(body).encode()
        headers = {
            "X-Livewall-Signature": sign(SECRET.encode(), raw, int(time.time())),
            "Content-Type": "application/json",
        }
        answer = client.post(f"{self.base}/hooks/relais", content=raw, headers=headers)
        answer.raise_for_status()
        return dict(answer.json())


def _first_password(process: subprocess.Popen[bytes]) -> str | None:
    """The one-time admin password `run` prints on a fresh store (the banner comes first)."""
    assert process.stdout is not None
    deadline = time.monotonic() + 5
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()  # type: ignore[union-attr]
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=deadline - time.monotonic()).decode()
        except queue.Empty:
            break
        if "password: " in line:
            return line.rsplit("password: ", 1)[1].strip()
        if line.startswith("Ctrl+C"):
            deadline = min(deadline, time.monotonic() + 1)
    return None


class Bare(Server):
    """bench/broadcast.py in its own process: the limit."""

    def __init__(self) -> None:
        port = free_port()
        profile = os.environ.get("LIVEWALL_BENCH_PROFILE")
        python = [sys.executable, *(["-m", "cProfile", "-o", profile + ".bare"] if profile else [])]
        process = subprocess.Popen(
            [*python, "-m", "bench.broadcast", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        super().__init__(process, port, "/events")
        wait_until_up(process, f"{self.base}/health")

    def post(self, client: httpx.Client, post_id: int, card: str) -> None:
        client.post(f"{self.base}/post", content=card.encode()).raise_for_status()


class Clients:
    """bench/clients.py in its own process: the screens."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.clients"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.done: set[tuple[str, int]] = set()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _next(self, timeout: float) -> str:
        line = self.lines.get(timeout=timeout)
        if line.startswith("done "):
            _, group, post = line.split()
            self.done.add((group, int(post)))
        return line

    def connect(self, group: str, url: str, count: int) -> int:
        self._send(f"connect {group} {url} {count}")
        while not (line := self._next(180)).startswith("ready "):
            pass
        return int(line.split()[2])

    def wait_done(self, group: str, post: int, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while (group, post) not in self.done:
            try:
                self._next(max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                return False
        return True

    def stop(self) -> dict[str, Any]:
        self._send("stop")
        while True:
            line = self._next(120)
            if line.startswith("{"):
                self.process.wait(30)
                return dict(json.loads(line))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of `server_url`, dropped afterwards."""
    name = f"livewall_bench_{uuid.uuid4().hex[:10]}"
    admin = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_url(env: Mapping[str, str]) -> str | None:
    return env.get("LIVEWALL_BENCH_DATABASE_URL") or env.get("LIVEWALL_TEST_DATABASE_URL") or None
