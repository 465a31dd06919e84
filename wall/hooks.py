"""The signed webhook route: posts pushed by other tools, stored before we answer 202."""

from __future__ import annotations

import time

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aggregator.application import Livewall
from collectors.webhook import SIGNATURE_HEADER, WebhookError, parse_payload, verify_signature
from collectors.webhook import Options as WebhookOptions
from wall.bodies import WEBHOOK_LIMIT, limited
from wall.json_api import problem


def routes(app: Livewall) -> list[Route]:
    def options_for(name: str) -> WebhookOptions:
        found = next((s for s in app.settings.sources if s.name == name), None)
        if not isinstance(found, WebhookOptions) or not found.enabled:
            raise WebhookError(404, f"no webhook source named {name!r}")
        return found

    async def receive(request: Request) -> JSONResponse:
        try:
            options = options_for(request.path_params["source"])
            secret = app.env.get(options.secret_env)
            if not secret:
                return problem(
                    503, f"the webhook's secret ({options.secret_env}) is not set on the server"
                )
            body = await request.body()  # at most WEBHOOK_LIMIT: the route's, as it arrives
            verify_signature(
                secret.encode(), request.headers.get(SIGNATURE_HEADER), body, time.time()
            )
            candidate = parse_payload(body)
        except WebhookError as exc:
            return problem(exc.status, exc.reason)
        except ClientDisconnect:
            return problem(400, "the request body was not received completely")
        # Stored, with the posts arriving meanwhile, before the answer: nothing accepted is lost.
        stored = await app.arrivals.store(options, candidate)
        answer = {"id": stored.post_id, "status": stored.status, "outcome": stored.outcome}
        # A cross-post joins the post already stored from another network: nothing new to accept.
        return JSONResponse(answer, status_code=200 if stored.outcome == "joined" else 202)

    return [Route("/hooks/{source}", limited(WEBHOOK_LIMIT, receive), methods=["POST"])]
