"""Real processes on free loopback ports: `livewall` itself, for the tests of starting and
stopping, and the servers tests put in front of it (`running`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
SECRET_KEY = "cle-de-session-de-test-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"{process.args} did not listen on {port}: {process.communicate()[1]}")


@contextlib.contextmanager
def running(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    """A server (a proxy, say) started with `command`, once it listens on `port`."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        wait_for_port(port, process)
        yield
    finally:
        # A proxy waits for open streams to end before it stops: give it a moment, no more.
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def write_config(folder: Path, extra: str = "", sources: str = "") -> Path:
    """An event file with its own SQLite store in `folder`, a screen and `extra` TOML."""
    config = folder / "event.toml"
    config.write_text(
        f'[event]\nname = "Assises de test"\nhashtags = ["AssisesUMQ"]\n'
        f'[storage]\nurl = "sqlite:///{folder}/livewall.db"\n'
        f'{extra}\n[[screens]]\nname = "hall"\n{sources}',
        encoding="utf-8",
    )
    return config


class Livewall:
    """`python -m wall.cli ARGS --config CONFIG`, its output kept for the assertions."""

    def __init__(
        self, config: Path, *args: str, env: dict[str, str] | None = None, key: bool = True
    ) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LIVEWALL_")}
        if key:
            environment["LIVEWALL_SECRET_KEY"] = SECRET_KEY
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wall.cli", *args, "--config", str(config)],
            cwd=config.parent,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out = self.err = ""

    # Migrations and loading the language models take seconds; on a loaded machine, a minute.
    def wait_answering(self, base: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.finish()
                raise AssertionError(f"exited {self.process.returncode}: {self.err}")
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the server did not answer in {timeout:.0f} s: {self.err}")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.finish()

    def finish(self, timeout: float = 30) -> int:
        out, err = self.process.communicate(timeout=timeout)
        self.out, self.err = self.out + out, self.err + err
        return self.process.returncode
