"""The public JSON API and the health check."""

from __future__ import annotations

from typing import Any

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

    async def healthz(request: Request) -> JSONResponse:
        body, healthy = await anyio.to_thread.run_sync(_health, app)
        return JSONResponse(body, status_code=200 if healthy else 503)

    return [Route("/api/posts", posts), Route("/healthz", healthz)]


def _health(app: Livewall) -> tuple[dict[str, Any], bool]:
    try:
        found = app.sources.health()
    except Exception as exc:  # the health check reports, it does not crash
        return {"status": "error", "store": f"unreachable: {type(exc).__name__}"}, False
    sources = {
        health.name: {
            "type": health.type,
            "ok": health.problem is None,
            "error_kind": health.problem,
            "error": health.error if health.problem else None,
            "config_error": health.config_error,
            "last_success": health.last_success.isoformat() if health.last_success else None,
        }
        for health in found
    }
    degraded = any(health.config_error for health in found)
    return {"status": "degraded" if degraded else "ok", "store": "ok", "sources": sources}, True
