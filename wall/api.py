"""The public JSON API."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aggregator.application import Livewall
from aggregator.export import export_row
from wall.params import query_whole

MAX_LIMIT = 200


def routes(app: Livewall) -> list[Route]:
    async def posts(request: Request) -> JSONResponse:
        limit = query_whole(request, "limit", 50, 1, MAX_LIMIT) or 50
        before = query_whole(request, "before", None, 1)
        found = await anyio.to_thread.run_sync(lambda: app.posts.latest(limit, before))
        return JSONResponse({"posts": [export_row(p) for p in found]})

    return [Route("/api/posts", posts)]
