"""Images shown on screens, always served from the wall's own origin."""

from __future__ import annotations

import mimetypes

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collectors.demo import DEMO_MEDIA_SCHEME, media_path

ONE_YEAR = "public, max-age=31536000, immutable"


def media_url(url: str | None) -> str | None:
    """The wall-origin URL of a post's image; remote images wait for the media cache."""
    if url and url.startswith(DEMO_MEDIA_SCHEME):
        return f"/media/demo/{url.removeprefix(DEMO_MEDIA_SCHEME)}"
    return None


async def demo_media(request: Request) -> Response:
    name = request.path_params["name"]
    path = media_path(name)
    if "/" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(404, "no such demo image")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), media_type=content_type, headers={"Cache-Control": ONE_YEAR})


def routes() -> list[Route]:
    return [Route("/media/demo/{name}", demo_media)]
