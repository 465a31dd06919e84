"""/metrics for Prometheus: open to the configured networks, or to a bearer token."""

from __future__ import annotations

import hmac
import ipaddress

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from aggregator.application import Livewall
from aggregator.metrics import CONTENT_TYPE

REFUSED = (
    "metrics are restricted: allowed from [metrics] allow networks, "
    "or with the bearer token named by [metrics] token_env"
)


def routes(app: Livewall) -> list[Route]:
    async def metrics(request: Request) -> Response:
        if not allowed(app, request):
            return PlainTextResponse(REFUSED, status_code=403)
        body = await anyio.to_thread.run_sync(app.metrics.exposition)  # reads the store
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return [Route("/metrics", metrics)]


def allowed(app: Livewall, request: Request) -> bool:
    """From an allowed network (the client as the trusted proxy reports it), or the token."""
    settings = app.settings.metrics
    token = app.env.get(settings.token_env)
    given = request.headers.get("authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return from_networks(request.client.host if request.client else None, settings.allow)


def from_networks(host: str | None, networks: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:  # no client, or a test transport's name: never an allowed network
        return False
    return any(address in ipaddress.ip_network(network) for network in networks)
