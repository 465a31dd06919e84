"""The proxy files of docs/deploy.md, run for real where Caddy or nginx is installed: each
accepts its file, and a screen's event stream passes through it as the posts are approved.
Only the addresses are changed (127.0.0.1 and free ports; a throwaway certificate for nginx);
every other line is the file the guide installs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.store import Store
from tests.builders import candidate, result, source
from tests.conftest import LiveServer, SettingsFactory
from tests.recipes import REPO
from tests.wall.processes import free_port, running

pytestmark = pytest.mark.slow
DEPLOY = REPO / "deploy"
UPSTREAM = "127.0.0.1:8000"  # what the files proxy to: `livewall serve` in the systemd unit
needs_caddy = pytest.mark.skipif(shutil.which("caddy") is None, reason="Caddy is not installed")
needs_nginx = pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="nginx (or openssl, for its test certificate) is not installed",
)


@pytest.fixture
def wall(store: Store, make_settings: SettingsFactory) -> Iterator[tuple[Livewall, str]]:
    """A post-moderated livewall served by uvicorn: (the app, host:port)."""
    app = Livewall(make_settings(moderation={"mode": "post"}), store, env={})
    server = LiveServer(app).start()
    yield app, f"127.0.0.1:{server.port}"
    server.stop()


def stream_through(base: str, app: Livewall) -> list[str]:
    """The events a screen receives through the proxy: the greeting, then a post approved
    while the stream is open."""
    events: list[str] = []
    with (
        httpx.Client(verify=False, timeout=20) as client,
        client.stream("GET", f"{base}/wall/hall/events") as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line.startswith("event: "):
                continue
            events.append(line.removeprefix("event: "))
            if events == ["hello"]:
                app.pipeline.ingest(source(), result(candidate("via-proxy", "Bonjour du hall")))
            if "post" in events:
                return events
    return events


@needs_caddy
def test_caddy_accepts_the_caddyfile_as_the_guide_gives_it() -> None:
    done = subprocess.run(
        ["caddy", "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    adapted = json.dumps(json.loads(done.stdout))
    assert '"flush_interval": -1' in adapted and f'"dial": "{UPSTREAM}"' in adapted


@needs_caddy
def test_a_screen_stream_passes_through_caddy(wall: tuple[Livewall, str], tmp_path: Path) -> None:
    app, upstream = wall
    port = free_port()
    text = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "mur.example.org {" in text and UPSTREAM in text
    local = "{\n\tadmin off\n\tauto_https off\n}\n\n" + text.replace(
        "mur.example.org {", f"http://127.0.0.1:{port} {{"
    ).replace(UPSTREAM, upstream)
    (tmp_path / "Caddyfile").write_text(local, encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    command = ["caddy", "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"]
    with running(command, port, env):
        assert stream_through(f"http://127.0.0.1:{port}", app) == ["hello", "post"]


@needs_nginx
def test_a_screen_stream_passes_through_nginx_over_https(
    wall: tuple[Livewall, str], tmp_path: Path
) -> None:
    app, upstream = wall
    http_port, https_port = free_port(), free_port()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=mur.example.org", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for old, new in (
        (UPSTREAM, upstream),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("/etc/letsencrypt/live/mur.example.org/fullchain.pem", str(tmp_path / "cert.pem")),
        ("/etc/letsencrypt/live/mur.example.org/privkey.pem", str(tmp_path / "key.pem")),
    ):
        assert old in site, f"deploy/nginx.conf no longer has {old!r}: update this test"
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    command = ["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    with running([*command, "-g", "daemon off;"], https_port):
        assert stream_through(f"https://127.0.0.1:{https_port}", app) == ["hello", "post"]
