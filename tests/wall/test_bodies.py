"""Every route that reads a body stops reading at its limit, while reading: a hostile body
(chunked, with a lying Content-Length, or a multipart file) costs at most that limit, in
memory and in bytes read, and what is read is refused with a reason when no store can hold it."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.formparsers import MultiPartParser
from starlette.routing import Route

from aggregator.application import Livewall
from collectors.webhook import MAX_BODY as HOOK_LIMIT
from tests.conftest import LiveServer, SettingsFactory, asgi_client
from tests.wall.console.conftest import add_staff, login
from wall.app import create_app
from wall.bodies import DEFAULT_LIMIT
from wall.bodies import JSON_LIMIT as MAX_BODY
from wall.bodies import UPLOAD_LIMIT as MAX_UPLOAD

pytestmark = pytest.mark.anyio
CHUNK = 64 * 1024
MB = 2**20
TOKEN = {"Authorization": "Bearer jeton-de-test"}
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# Every route that takes a body, and the most it may read of one (None: it reads none); the
# chunk that crosses the limit is read too. The console's staff posts then drain a refused
# upload (four times the limit, and a chunk) so that the browser shows the answer rather
# than a reset connection.
BODY_ROUTES: dict[tuple[str, str], int | None] = {
    ("POST", "/hooks/{source}"): HOOK_LIMIT,
    ("POST", "/api/screens/heartbeat"): MAX_BODY,
    ("POST", "/api/screens/messages"): MAX_BODY,  # JSON; multipart is MAX_UPLOAD, below
    ("DELETE", "/api/screens/messages/{message_id}"): None,
    ("DELETE", "/api/screens/emergency"): None,
    ("POST", "/console/login"): DEFAULT_LIMIT,
    ("POST", "/console/logout"): DEFAULT_LIMIT,
    ("POST", "/console/api/decide"): DEFAULT_LIMIT,
    ("POST", "/console/api/undo"): DEFAULT_LIMIT,
    ("POST", "/console/rules"): DEFAULT_LIMIT,
    ("POST", "/console/screens"): DEFAULT_LIMIT,
    ("POST", "/console/sources"): DEFAULT_LIMIT,
    ("POST", "/console/users"): DEFAULT_LIMIT,
    ("POST", "/console/notifications"): DEFAULT_LIMIT,
    ("POST", "/console/preferences"): DEFAULT_LIMIT,
    ("POST", "/console/messages"): 5 * MAX_UPLOAD + CHUNK,
    ("POST", "/api/screens/slides"): MAX_BODY,  # JSON; multipart is MAX_UPLOAD
    ("DELETE", "/api/screens/slides/{slide_id}"): None,
    ("POST", "/console/slides"): 5 * MAX_UPLOAD + CHUNK,  # the staff posts' form, for slides
}


class Hostile:
    """A body of `size` bytes after `head`, sent in chunks (no Content-Length unless a test
    lies about it), that counts how much of it the app has read."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.size = size
        self.head = head
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            self.read += len(self.head)
            yield self.head
        chunk = b"x" * CHUNK
        while self.read < self.size:
            self.read += CHUNK
            yield chunk


@pytest.fixture
def staffed(make_settings: SettingsFactory, livewall: Livewall) -> Livewall:
    settings = make_settings(
        sources=[{"name": "relais", "type": "webhook", "secret_env": "HOOK_SECRET"}]
    )
    env = {"HOOK_SECRET": "secret", "LIVEWALL_API_TOKEN": "jeton-de-test"}
    app = Livewall(settings, store=livewall.store, env=env)
    add_staff(app, "ada", "admin")
    return app


@pytest.fixture
async def client(staffed: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(staffed) as client:
        yield client


def test_every_route_that_takes_a_body_is_listed_here(livewall: Livewall) -> None:
    """A new route that takes a body must say here how much of one it reads."""
    routes = create_app(livewall).routes
    taking = {
        (method, route.path)
        for route in routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method not in ("GET", "HEAD")
    }
    assert taking == set(BODY_ROUTES)


UPLOAD_HEAD = (
    b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nBonjour\r\n'
    b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
    b"Content-Type: image/jpeg\r\n\r\n"
)
MULTIPART = {"Content-Type": "multipart/form-data; boundary=b"}


async def test_a_200_mb_body_is_refused_at_each_routes_limit(client: httpx.AsyncClient) -> None:
    await login(client, "ada")  # the console's routes read the form for its CSRF token
    for (method, path), most in BODY_ROUTES.items():
        url = path.replace("{source}", "relais").replace("{message_id}", "1")
        url = url.replace("{slide_id}", "1")
        headers = FORM if path.startswith("/console/") else {**JSON, **TOKEN}
        body = Hostile(200 * MB)
        if path in ("/console/messages", "/console/slides"):  # a staff form, with its image
            headers, body = MULTIPART, Hostile(200 * MB, UPLOAD_HEAD)
        answer = await client.request(method, url, content=body, headers=headers)
        if most is None:
            assert body.read == 0 and answer.status_code < 500, (path, answer.status_code)
            continue
        assert answer.status_code == 413, (path, answer.status_code, answer.text[:300])
        assert body.read <= most + CHUNK, (path, body.read)


async def test_refusals_say_why_in_the_routes_language(client: httpx.AsyncClient) -> None:
    api = await client.post("/api/screens/heartbeat", content=Hostile(MB), headers=JSON)
    assert api.json() == {"error": f"the body is larger than {MAX_BODY} bytes"}
    page = await client.post("/console/login", content=Hostile(MB), headers=FORM)
    assert "Cette requête est trop volumineuse" in page.text
    assert f"the body is larger than {DEFAULT_LIMIT} bytes" in page.text


async def test_a_lying_content_length_changes_nothing(client: httpx.AsyncClient) -> None:
    small = Hostile(200 * MB)
    lie = {**JSON, "Content-Length": "10"}
    answer = await client.post("/api/screens/heartbeat", content=small, headers=lie)
    assert answer.status_code == 413 and small.read <= MAX_BODY + CHUNK
    large = Hostile(200 * MB)
    told = {**JSON, "Content-Length": str(200 * MB)}
    answer = await client.post("/api/screens/heartbeat", content=large, headers=told)
    assert answer.status_code == 413 and large.read == 0  # refused before the first byte


@pytest.mark.parametrize(
    ("part", "status"),
    [
        (b'name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream', 400),
        (b'name="password"', 413),  # a field, not a file: read up to the limit
    ],
)
async def test_a_500_mb_multipart_login_is_refused_before_anything_is_spooled(
    client: httpx.AsyncClient, part: bytes, status: int
) -> None:
    """A login takes no file (400 at the file's first line) and fits in DEFAULT_LIMIT."""
    head = (
        b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nnothing\r\n'
        b"--b\r\nContent-Disposition: form-data; " + part + b"\r\n\r\n"
    )
    body = Hostile(500 * MB, head)
    answer = await client.post("/console/login", content=body, headers=MULTIPART)
    assert answer.status_code == status
    # python-multipart keeps a file in memory up to spool_max_size before it writes to disk:
    # it was never given that much.
    assert body.read <= DEFAULT_LIMIT + CHUNK < MultiPartParser.spool_max_size


async def test_an_upload_route_still_takes_its_8_mb(client: httpx.AsyncClient) -> None:
    """The API's multipart announcement reads up to MAX_UPLOAD, then stops."""
    body = Hostile(200 * MB, UPLOAD_HEAD)
    answer = await client.post(
        "/api/screens/messages", content=body, headers={**TOKEN, **MULTIPART}
    )
    assert answer.status_code == 413 and "image too big" in answer.json()["error"]
    assert MAX_UPLOAD < body.read <= MAX_UPLOAD + CHUNK


# What is read must be something a store can hold ----------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"name": "hall", "viewport": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nested more"),
        (b'{"name": "hall", "version": "\\ud800"}', "field 'version' contains a lone surrogate"),
        (b'{"name": "hall", "version": "v\\u0000"}', "field 'version' contains a NUL"),
        (b'{"name": "hall", "version": NaN}', "not valid JSON"),
        (b'{"name": "hall", "version": "\xed\xa0\x80"}', "not valid JSON (UTF-8)"),
    ],
)
async def test_json_no_store_can_hold_is_400_naming_the_field(
    client: httpx.AsyncClient, body: bytes, reason: str
) -> None:
    answer = await client.post("/api/screens/heartbeat", content=body, headers=JSON)
    assert answer.status_code == 400 and reason in answer.json()["error"]


async def test_a_nul_in_a_console_form_is_400_naming_the_field(
    client: httpx.AsyncClient, staffed: Livewall
) -> None:
    csrf = await login(client, "ada")
    data = {"op": "emergency", "text": "Évacuez\x00", "confirm": "yes", "csrf": csrf}
    answer = await client.post("/console/messages", data=data)
    assert answer.status_code == 400 and "field &#39;text&#39; contains a NUL" in answer.text
    user = {"op": "add", "name": "a\x00b", "role": "moderator", "password": "x" * 16}
    answer = await client.post("/console/users", data={**user, "csrf": csrf})
    assert answer.status_code == 400 and "field &#39;name&#39; contains a NUL" in answer.text


async def test_a_nul_in_a_query_string_is_400(client: httpx.AsyncClient) -> None:
    await login(client, "ada")
    for url in ("/console?text=%00", "/console/audit?actor=a%00", "/api/posts?x=%00"):
        answer = await client.get(url)
        assert answer.status_code == 400 and "NUL" in answer.json()["error"], url


# A real server, three hostile clients at once ----------------------------------------------


def _kilobytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def _flood(port: int, head: bytes, total: int, answers: list[tuple[int, bytes]]) -> None:
    """Send `total` bytes of chunked body as fast as the server takes them, until it answers."""
    chunk = b"x" * CHUNK
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        try:
            while sent < total and not select.select([conn], [], [], 0)[0]:
                conn.sendall(framed)
                sent += CHUNK
        except OSError:
            pass  # the server closed the connection: the answer is already on its way
        try:
            answers.append((sent, conn.recv(100)))
        except OSError as exc:
            answers.append((sent, repr(exc).encode()))


def test_three_200_mb_heartbeats_at_once_cost_a_real_server_almost_nothing(
    livewall: Livewall,
) -> None:
    """Before: each one was read whole (about 340 MB each). Now the server answers 413 at
    16 KB and closes the connection, so the senders cannot even push the rest."""
    server = LiveServer(livewall).start()
    head = (
        b"POST /api/screens/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answers: list[tuple[int, bytes]] = []
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
        before = _kilobytes("VmRSS:")
        clients = [
            threading.Thread(target=_flood, args=(server.port, head, 200 * MB, answers))
            for _ in range(3)
        ]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=60)
        growth = _kilobytes("VmHWM:") - before
    finally:
        server.stop()
    refused = b"HTTP/1.1 413 Request Entity Too Large"
    assert [answer.split(b"\r\n")[0] for _, answer in answers] == [refused] * 3
    assert all(sent < 32 * MB for sent, _ in answers), [sent for sent, _ in answers]
    assert growth < 32 * 1024, f"the process grew by {growth} kB"


async def test_a_body_up_to_the_limit_is_read(client: httpx.AsyncClient) -> None:
    """A heartbeat of exactly 16 KB is read (and judged); one byte more is refused."""
    padding = MAX_BODY - len(json.dumps({"name": "lobby", "version": ""}))
    exact = json.dumps({"name": "lobby", "version": "v" * padding}).encode()
    assert len(exact) == MAX_BODY
    answer = await client.post("/api/screens/heartbeat", content=exact, headers=JSON)
    assert answer.status_code == 404 and "unknown screen 'lobby'" in answer.json()["error"]
    over = await client.post("/api/screens/heartbeat", content=exact + b" ", headers=JSON)
    assert over.status_code == 413
