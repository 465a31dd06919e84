"""A real HTTP server on 127.0.0.1 with scripted answers, for pointing collectors at.

Each route answers from a list of `Reply` (consumed in order, the last one repeats) or
from a function of the `Request`, so a test can play a whole API: paging, errors, delays,
bodies cut short and streams.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from collectors.http import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"


async def _no_sleep(seconds: float) -> None:
    return None


# Quick retries still happen, but without the wait: tests stay fast.
FAST_RETRY = RetryPolicy(base_delay=0.0, sleep=_no_sleep)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line is sent
    truncate: int | None = None  # send only this many body bytes, then close
    chunks: list[tuple[float, bytes]] | None = None  # a stream: (pause, data) pairs

    def payload(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        elif isinstance(body, str):
            body = body.encode()
        return body, headers


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Handler = Callable[[Request], Reply]


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, method: str, path: str, *replies: Reply | Handler) -> None:
        """Answer `method path` with these replies in turn, or with one handler function."""
        if len(replies) == 1 and callable(replies[0]):
            self.routes[(method, path)] = replies[0]
            return
        queue = list(replies)

        def next_reply(request: Request) -> Reply:
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
            assert isinstance(reply, Reply)
            return reply

        self.routes[(method, path)] = next_reply

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, request: Request) -> Reply:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.path)) or self._prefix(request)
        if handler is None:
            return Reply(404, {"error": "Record not found"})
        return handler(request)

    def _prefix(self, request: Request) -> Handler | None:
        """Routes ending in '*' answer every path that starts with what comes before it."""
        for (method, path), handler in self.routes.items():
            if (
                method == request.method
                and path.endswith("*")
                and request.path.startswith(path[:-1])
            ):
                return handler
        return None


def _make_handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class ScriptedHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            reply = server.answer(request)
            if reply.delay and server.stopping.wait(reply.delay):
                return
            self._write(reply)

        def _write(self, reply: Reply) -> None:
            body, headers = reply.payload()
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            if reply.chunks is not None:
                self.end_headers()
                self._stream(reply.chunks)
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body if reply.truncate is None else body[: reply.truncate])

        def _stream(self, chunks: list[tuple[float, bytes]]) -> None:
            # HTTP/1.0 without a length: the body ends when the connection closes.
            for pause, data in chunks:
                if server.stopping.wait(pause):
                    return
                self.wfile.write(data)
                self.wfile.flush()

    return ScriptedHandler
