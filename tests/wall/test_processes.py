"""`livewall serve --workers N` and several `livewall serve` side by side: real processes on one
store, sharing what must be shared (sessions, login throttling, undo, the change feed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from aggregator import accounts
from aggregator.models import Post
from aggregator.store import Store
from collectors.webhook import sign
from tests.conftest import PG_URL
from tests.wall.console.conftest import PASSWORD, login
from tests.wall.processes import free_port, running

# Real processes, each loading the language models. Under pytest-xdist (--dist loadgroup) the
# module asks for one worker, so its servers start once per store (see the Makefile's `test`).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]
REPO = Path(__file__).resolve().parents[2]
HOOK_SECRET = "s" * 32
SECRET_KEY = "k" * 40
# Starting loads the language models: slow on a loaded machine, so generous.
START_SECONDS = 180


def event_file(directory: Path, database_url: str) -> Path:
    path = directory / "event.toml"
    path.write_text(
        f"""
[event]
name = "Assises à plusieurs processus"
hashtags = ["AssisesUMQ"]
[storage]
url = "{database_url}"
[moderation]
mode = "pre"
[[sources]]
name = "relais"
type = "webhook"
secret_env = "RELAIS_SECRET"
[[screens]]
name = "hall"
""",
        encoding="utf-8",
    )
    return path


def bare_env(**variables: str) -> dict[str, str]:
    """Only PATH and what the test gives: the machine's own secrets never leak in."""
    return {"PATH": os.environ["PATH"], **variables}


def test_several_processes_without_the_secret_key_is_one_line_and_a_failure(
    tmp_path: Path,
) -> None:
    config = event_file(tmp_path, f"sqlite:///{tmp_path / 'livewall.db'}")
    done = subprocess.run(
        [sys.executable, "-m", "wall.cli", "--config", str(config), "serve", "--workers", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=bare_env(RELAIS_SECRET="s" * 32, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("livewall: error")]
    assert errors == [
        "livewall: error: --workers 3 needs LIVEWALL_SECRET_KEY set (the same secret for every "
        "process); set it or serve with one process"
    ]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "livewall.db").exists()  # refused before touching the store


class Serving:
    """A `livewall serve` process (or a `--workers N` supervisor) on a free port."""

    def __init__(self, config: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = ["serve", "--port", str(self.port), *extra]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wall.cli", "--config", str(config), *command],
            cwd=config.parent,
            env=bare_env(LIVEWALL_SECRET_KEY=SECRET_KEY, RELAIS_SECRET=HOOK_SECRET),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()[1]
            try:
                if httpx.get(f"{self.url}/wall/hall", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.url} did not answer within {START_SECONDS} s")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            _out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _out, err = self.process.communicate()
        return err


def fresh_store(kind: str, directory: Path, pg_url: str | None) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'livewall.db'}"
    assert pg_url is not None
    store = Store(pg_url)
    store.migrate()
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    store.dispose()
    return pg_url


class Pair:
    """Two web processes on one store: `first` is itself `serve --workers 2`."""

    def __init__(self, url: str, first: Serving, second: Serving) -> None:
        self.url, self.first, self.second = url, first, second


@pytest.fixture(scope="module", params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def pair(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_migrated: str | None,
) -> Iterator[Pair]:
    directory = tmp_path_factory.mktemp(f"pair-{request.param}")
    url = fresh_store(request.param, directory, pg_migrated)
    config = event_file(directory, url)
    first = Serving(config, "--workers", "2")
    first.wait_ready()  # it migrates: the second starts on an up-to-date store
    second = Serving(config)
    try:
        second.wait_ready()
        store = Store(url)
        accounts.add_user(store, "marie", "moderator", PASSWORD)
        accounts.add_user(store, "luc", "moderator", PASSWORD)
        store.dispose()
        yield Pair(url, first, second)
    finally:
        errors = [second.stop(), first.stop()]
    assert not any("Traceback" in err for err in errors), errors


@pytest.fixture
async def clients(pair: Pair) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """A client of each process (a test hands the first's cookies to the second)."""
    async with (
        httpx.AsyncClient(base_url=pair.first.url, timeout=20) as first,
        httpx.AsyncClient(base_url=pair.second.url, timeout=20) as second,
    ):
        yield first, second


async def held_post(client: httpx.AsyncClient, external_id: str, text: str) -> int:
    body = json.dumps(
        {
            "id": external_id,
            "text": text,
            "author": {"handle": "marie-gagnon"},
            "network": "linkedin",
            "created_at": "2026-11-25T14:05:00-05:00",
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Livewall-Signature": sign(HOOK_SECRET.encode(), body, int(time.time())),
    }
    answer = await client.post("/hooks/relais", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    return int(answer.json()["id"])


async def decide(client: httpx.AsyncClient, csrf: str, post_id: int) -> httpx.Response:
    body = {"action": "approve", "posts": [{"id": post_id, "status": "pending"}]}
    return await client.post("/console/api/decide", json=body, headers={"X-CSRF-Token": csrf})


@pytest.mark.anyio
async def test_a_decision_on_one_process_reaches_a_screen_on_the_other(
    pair: Pair, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    first, second = clients
    post_id = await held_post(first, "li-screen", "Ouverture des Assises en direct de Québec")
    received: list[str] = []
    with anyio.fail_after(60):  # generous: it arrives, or the test fails; no timing asserted
        async with second.stream("GET", "/wall/hall/events", timeout=None) as stream:
            lines = stream.aiter_lines()
            assert "event: hello" in [await anext(lines) for _ in range(2)]
            csrf = await login(first, "marie")
            answer = await decide(first, csrf, post_id)
            assert answer.status_code == 200, answer.text
            async for line in lines:
                received.append(line)
                if "Ouverture des Assises" in line:
                    break
    assert "event: post" in received


@pytest.mark.anyio
async def test_three_wrong_passwords_on_each_process_then_the_sixth_is_throttled(
    pair: Pair,
) -> None:
    codes = []
    for url in (pair.first.url, pair.second.url):
        async with httpx.AsyncClient(base_url=url, timeout=20) as guesser:
            answer = await guesser.get("/console/login")
            for _ in range(3):  # each answer is the form again, with a new token
                found = re.search(r'name="csrf" value="([^"]+)"', answer.text)
                assert found is not None
                data = {"name": "luc", "password": "pas-le-bon-mot", "csrf": found[1]}
                answer = await guesser.post("/console/login", data=data)
                codes.append(answer.status_code)
    # Before, each process counted its own three: none was throttled.
    assert codes == [401] * 5 + [429]


@pytest.mark.anyio
async def test_undo_reaches_the_other_process(
    pair: Pair, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    first, second = clients
    post_id = await held_post(first, "li-undo", "Une décision à reprendre")
    csrf = await login(first, "marie")
    decided = await decide(first, csrf, post_id)
    assert decided.json()["undo"] is True
    second.cookies = first.cookies  # the same browser: its undo reaches the other process
    undone = await second.post("/console/api/undo", json={}, headers={"X-CSRF-Token": csrf})
    assert undone.status_code == 200, undone.text
    assert [r["status"] for r in undone.json()["results"]] == ["pending"]
    again = await first.post("/console/api/undo", json={}, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409  # once only, whichever process is asked
    store = Store(pair.url)
    try:
        with store.read() as session:
            post = session.get(Post, post_id)
    finally:
        store.dispose()
    assert post is not None and post.status == "pending"


# --- behind a balancer: the README's blocks for several `serve`, the guide's files around them -


def readme_block(language: str, first_line: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"```{language}\n({re.escape(first_line)}.*?\n\}})\n```", readme, re.DOTALL)
    assert block is not None, f"README.md no longer shows the balancer's {language} block"
    return block[1]


def nginx_config(upstreams: list[str], port: int, directory: Path) -> str:
    """The README's `upstream` block (the pair's addresses put in) and deploy/nginx.conf's
    `location /` as the guide installs it, on plain HTTP at 127.0.0.1 (TLS through nginx:
    tests/test_proxies.py); each answer says which process gave it."""
    upstream = re.sub(r"\n\s*server [^\n]*", "", readme_block("nginx", "upstream livewall {"))
    servers = "".join(f"\n    server {address};" for address in upstreams)
    site = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    location = re.search(r"\n    location / \{.*?\n    \}", site, re.DOTALL)
    assert location is not None, "deploy/nginx.conf no longer has its `location /` block"
    return (
        f"pid {directory}/nginx.pid;\nerror_log {directory}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  {upstream.replace('{', '{' + servers, 1)}\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n"
        f"    add_header X-Upstream $upstream_addr always;{location[0]}\n  }}\n}}\n"
    )


def caddy_config(upstreams: list[str], port: int) -> str:
    """The README's Caddyfile block, the pair's addresses for its two, on plain HTTP."""
    site = readme_block("caddy", "mur.example.org {")
    assert "127.0.0.1:8000 10.0.0.12:8000 {" in site
    site = site.replace("mur.example.org {", f"http://127.0.0.1:{port} {{").replace(
        "127.0.0.1:8000 10.0.0.12:8000 {",
        " ".join(upstreams)
        + " {\n\t\theader_down X-Upstream {http.reverse_proxy.upstream.hostport}",
    )
    return "{\n\tadmin off\n\tauto_https off\n}\n\n" + site + "\n"


@contextmanager
def balancer(kind: str, pair: Pair, directory: Path) -> Iterator[str]:
    """nginx or Caddy balancing the pair's two web processes; its base URL."""
    port = free_port()
    upstreams = [pair.first.url.removeprefix("http://"), pair.second.url.removeprefix("http://")]
    config = directory / f"{kind}.conf"
    env = {**os.environ, "XDG_DATA_HOME": str(directory), "XDG_CONFIG_HOME": str(directory)}
    if kind == "nginx":
        config.write_text(nginx_config(upstreams, port, directory), encoding="utf-8")
        command = ["nginx", "-p", str(directory), "-c", str(config)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
        command += ["-g", "daemon off;"]
    else:
        config.write_text(caddy_config(upstreams, port), encoding="utf-8")
        command = ["caddy", "run", "--config", str(config), "--adapter", "caddyfile"]
    with running(command, port, env):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("kind", ["nginx", "caddy"])
@pytest.mark.anyio
async def test_behind_a_balancer_a_screen_sees_what_a_moderator_decided_on_another_process(
    pair: Pair, tmp_path: Path, kind: str
) -> None:
    """One address for everyone, as the README sets it up: the screen's stream stays on one
    process (least_conn sends the next requests to the other), the moderator's login, the
    webhook and the decision go to the other one, and the post reaches the screen."""
    if shutil.which(kind) is None:
        pytest.skip(f"{kind} is not installed")
    received: list[str] = []
    with balancer(kind, pair, tmp_path) as base:
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            with anyio.fail_after(60):  # it arrives, or the test fails; no timing asserted
                async with client.stream("GET", "/wall/hall/events", timeout=None) as stream:
                    lines = stream.aiter_lines()
                    assert "event: hello" in [await anext(lines) for _ in range(2)]
                    post_id = await held_post(client, f"li-{kind}", f"Le mot du maire, via {kind}")
                    csrf = await login(client, "marie")
                    answer = await decide(client, csrf, post_id)
                    assert answer.status_code == 200, answer.text
                    async for line in lines:
                        received.append(line)
                        if f"via {kind}" in line:
                            break
    assert "event: post" in received
    assert stream.headers["X-Upstream"] != answer.headers["X-Upstream"], "one process did all"
