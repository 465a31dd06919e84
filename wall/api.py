"""The public JSON API and the health check."""

from __future__ import annotations

from typing import Any

import anyio
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aggregator.export import export_row
from aggregator.livewall import Livewall
from aggregator.models import Source
from aggregator.timeline import latest
from wall.params import query_whole

MAX_LIMIT = 200


def routes(app: Livewall) -> list[Route]:
    async def posts(request: Request) -> JSONResponse:
        limit = query_whole(request, "limit", 50, 1, MAX_LIMIT) or 50
        before = query_whole(request, "before", None, 1)
        found = await anyio.to_thread.run_sync(lambda: latest(app.store, limit, before))
        return JSONResponse({"posts": [export_row(p) for p in found]})

    async def healthz(request: Request) -> JSONResponse:
        body, healthy = await anyio.to_thread.run_sync(_health, app)
        return JSONResponse(body, status_code=200 if healthy else 503)

    return [Route("/api/posts", posts), Route("/healthz", healthz)]


def _health(app: Livewall) -> tuple[dict[str, Any], bool]:
    try:
        with app.store.read() as session:
            states = {s.name: s for s in session.exec(select(Source))}
    except Exception as exc:  # the health check reports, it does not crash
        return {"status": "error", "store": f"unreachable: {type(exc).__name__}"}, False
    sources = {}
    for options in app.settings.sources:
        state = states.get(options.name)
        problem = state.last_error_kind if state and state.consecutive_errors else None
        sources[options.name] = {
            "type": options.type,
            "ok": problem is None,
            "error_kind": problem,
            "error": state.last_error if problem and state else None,
            "config_error": problem in ("auth", "config"),
            "last_success": state.last_success.isoformat()
            if state and state.last_success
            else None,
        }
    degraded = any(s["config_error"] for s in sources.values())
    return {"status": "degraded" if degraded else "ok", "store": "ok", "sources": sources}, True
