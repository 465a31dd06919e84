"""Request bodies, read with their limit checked as they arrive.

`BodyLimit` (pure ASGI middleware) counts every request's body as the app reads it. Past the
route's limit (DEFAULT_LIMIT, unless the route is wrapped in `limited`), reading stops with
`BodyTooLarge` (a 413) and nothing more is read; a Content-Length over the limit is refused
before the first byte. So whatever reads a body (request.body(), .json(), .form() and
python-multipart's spooling to disk) holds at most the limit, and a route cannot forget it.

Routes read through `read_json`, `read_object` and `read_form`, which also refuse what no store can hold
(a NUL character, a lone surrogate, JSON nested past collectors.payload.MAX_DEPTH) with a 400
that names the field.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collectors import payload, webhook
from wall import media
from wall.params import BadRequest

# Every route's body limit, here and nowhere else. Every console form fits the default many
# times over; the API's JSON calls are small; an upload and a webhook say more.
DEFAULT_LIMIT = 64 * 1024
JSON_LIMIT = 16 * 1024
# An image (the media cache's bound, which staff images share), the text fields and the
# multipart framing around it.
UPLOAD_LIMIT = media.MAX_BYTES + 256 * 1024
# What the webhook's parser accepts (it checks the bound itself too).
WEBHOOK_LIMIT = webhook.MAX_BODY
_SCOPE_KEY = "livewall.body"

Endpoint = Callable[[Request], Awaitable[Response]]


class BodyTooLarge(Exception):
    status = 413

    def __init__(self, limit: int, size: int) -> None:
        self.limit = limit
        self.size = size  # what was declared or received when reading stopped
        self.message = f"the body is larger than {limit} bytes"
        super().__init__(self.message)


@dataclass
class _Budget:
    limit: int
    declared: int
    received: int = 0
    finished: bool = False
    refused: bool = False

    def take(self, message: Message) -> None:
        self.finished = message["type"] != "http.request" or not message.get("more_body")
        self.received += len(message.get("body", b""))
        if self.received > self.limit:
            self.refused = True
            raise BodyTooLarge(self.limit, self.received)

    def check_declared(self) -> None:
        if self.declared > self.limit:
            self.refused = True
            raise BodyTooLarge(self.limit, self.declared)


class BodyLimit:
    """Count what the app reads of each request's body against its route's limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = _Budget(DEFAULT_LIMIT, _declared(scope))
        scope[_SCOPE_KEY] = budget

        async def counted() -> Message:
            # Checked at the first read, not on arrival: the route may have set its own limit.
            budget.check_declared()
            message = await receive()
            budget.take(message)
            return message

        async def send_closing(message: Message) -> None:
            # The rest of a refused body is never read: closing the connection after the
            # answer is what stops the server from receiving (and discarding) it.
            if message["type"] == "http.response.start" and budget.refused and not budget.finished:
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, counted, send_closing)


def _declared(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def allow(request: Request, limit: int) -> None:
    """This request's body may be up to `limit` bytes (instead of DEFAULT_LIMIT)."""
    budget = request.scope.get(_SCOPE_KEY)
    if not isinstance(budget, _Budget):
        raise RuntimeError("the BodyLimit middleware is not installed: no body would be bounded")
    budget.limit = limit


def limited(limit: int, endpoint: Endpoint) -> Endpoint:
    """`endpoint` with a body limit of its own."""

    async def bounded(request: Request) -> Response:
        allow(request, limit)
        return await endpoint(request)

    bounded.__name__ = getattr(endpoint, "__name__", "bounded")
    return bounded


async def drain(request: Request, at_most: int) -> None:
    """Read and drop up to `at_most` more bytes of a refused body: a browser still sending
    its upload shows the answer rather than a reset connection."""
    budget = request.scope[_SCOPE_KEY]
    if budget.finished:  # nothing left to read: another receive would wait for the client
        return
    budget.limit = budget.received + at_most
    budget.declared = 0
    rest = Request(request.scope, request.receive)
    with contextlib.suppress(BodyTooLarge, ClientDisconnect, RuntimeError):
        async for _chunk in rest.stream():
            pass


async def read_json(request: Request) -> Any:
    """The body as JSON (an empty body is an empty object), or a 400 that says why."""
    raw = await request.body()
    try:
        return payload.load(raw or b"{}")
    except payload.PayloadError as exc:
        raise BadRequest(str(exc)) from None


async def read_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (what every JSON route takes), or a 400 that says why."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


async def read_form(request: Request, max_files: int = 0, max_fields: int = 100) -> FormData:
    """The body as a form (urlencoded or multipart), each text field one a store can hold."""
    form = await request.form(max_files=max_files, max_fields=max_fields)
    for name, value in form.multi_items():
        if isinstance(value, str):
            try:
                payload.text_problem(value, name)
            except payload.PayloadError as exc:
                raise BadRequest(str(exc)) from None
    return form
