"""/healthz: the process answers. /readyz: livewall can do its work (aggregator/readiness.py).

Anyone (a load balancer, a container's health check) reads the status words; the texts of
errors, which may quote a remote's answer or name a host, are for logged-in staff only.
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aggregator.application import Livewall
from aggregator.readiness import Readiness, readiness
from wall.console.auth import Guard

NO_STORE = {"Cache-Control": "no-store"}


def routes(app: Livewall, guard: Guard) -> list[Route]:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"}, headers=NO_STORE)

    async def readyz(request: Request) -> JSONResponse:
        found = await anyio.to_thread.run_sync(readiness, app.store, app.sources)
        # Who asks is read from the store too: with it down, only the status words.
        staff = (await guard.staff(request))[0] if found.store == "ok" else None
        body = public_view(found) | (staff_view(found) if staff is not None else {})
        return JSONResponse(body, status_code=200 if found.ready else 503, headers=NO_STORE)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]


def public_view(found: Readiness) -> dict[str, Any]:
    return {
        "status": "ready" if found.ready else "not ready",
        "store": found.store,
        "scheduler": found.scheduler,
        "sources": {source.name: source.state for source in found.sources},
    }


def staff_view(found: Readiness) -> dict[str, Any]:
    return {
        "problems": found.problems(),
        "last_tick": found.last_tick.isoformat() if found.last_tick else None,
        "ticking_at": found.ticking_at,
        "source_errors": {
            source.name: {
                "error_kind": source.problem,
                "error": source.error if source.problem else None,
                "config_error": source.config_error,
                "last_success": source.last_success.isoformat() if source.last_success else None,
            }
            for source in found.sources
        },
    }
