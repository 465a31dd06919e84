"""The limit the screens are measured against: a bare Starlette + uvicorn SSE broadcast.

No store, no templates, no moderation: `POST /post` hands its body (a card already rendered) to
every open `GET /events` stream through a bounded queue per stream, as the simplest server
that does the screens' job would. It runs with the same uvicorn settings as `livewall serve`
(asyncio loop, h11), so the difference measured is livewall's own work.

`python -m bench.broadcast PORT` serves it on 127.0.0.1 until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

QUEUE_SIZE = 64  # a stream that falls this far behind is dropped, as livewall bounds its own
PING_SECONDS = 15.0


class Broadcast:
    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[str]] = set()
        self.seq = 0

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            self._stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _stream(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        try:
            yield "retry: 3000\nevent: hello\ndata: bare\n\n"
            while True:
                try:
                    async with asyncio.timeout(PING_SECONDS):
                        yield await queue.get()
                except TimeoutError:
                    yield "event: ping\ndata: 1\n\n"
        finally:
            self.queues.discard(queue)

    async def post(self, request: Request) -> Response:
        card = (await request.body()).decode()
        self.seq += 1
        event = f"id: {self.seq}\nevent: post\n" + "".join(
            f"data: {line}\n" for line in card.splitlines()
        )
        event += "\n"
        for queue in list(self.queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.queues.discard(queue)  # a client that stopped reading
        return PlainTextResponse(str(self.seq), status_code=202)

    async def health(self, request: Request) -> Response:
        return PlainTextResponse(str(len(self.queues)))


def create_app() -> Starlette:
    broadcast = Broadcast()
    return Starlette(
        routes=[
            Route("/events", broadcast.events),
            Route("/post", broadcast.post, methods=["POST"]),
            Route("/health", broadcast.health),
        ]
    )


def main(port: int) -> None:
    config = uvicorn.Config(
        create_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        proxy_headers=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main(int(sys.argv[1]))
