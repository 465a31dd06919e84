"""Who may call the /api routes: a bearer token, an admin-created API token or the server's.

Every /api route needs `Authorization: Bearer <token>`: an API token an admin creates in the
console (Accounts page), or the server's LIVEWALL_API_TOKEN; 401 otherwise.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import Response

from aggregator.application import Livewall
from wall.json_api import problem

TOKEN_ENV = "LIVEWALL_API_TOKEN"

Endpoint = Callable[[Request], Awaitable[Response]]


def bearer(app: Livewall, endpoint: Endpoint) -> Endpoint:
    """Let a request through with an admin-created API token or LIVEWALL_API_TOKEN.

    The token's name becomes the actor (`request.state.actor`) of what the request does.
    """

    async def guarded(request: Request) -> Response:
        expected = app.env.get(TOKEN_ENV, "")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given:
            if expected and hmac.compare_digest(given.encode(), expected.encode()):
                request.state.actor = "api"
                return await endpoint(request)
            staff = await anyio.to_thread.run_sync(app.accounts.check_token, given)
            if staff is not None:
                request.state.actor = staff.name
                return await endpoint(request)
        return problem(
            401,
            "missing or wrong bearer token: send an API token an admin created in the console "
            f"(Accounts page), or the server's {TOKEN_ENV}",
            **{"WWW-Authenticate": "Bearer"},
        )

    return guarded
