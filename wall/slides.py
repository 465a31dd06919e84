"""Sponsor and announcement slides, as a JSON API (the console's page drives the same code).

    GET    /api/screens/slides              slides on screen now or later, and recent ones
    POST   /api/screens/slides              JSON {"text", "kind": "sponsor"|"announcement",
                                             "screens": [names] (empty: all),
                                             "starts_at": "2026-11-28T14:00" (default: now),
                                             "ends_at": "2026-11-28T18:00",
                                             "every_posts": n or "every_seconds": m,
                                             "show_seconds": s (default 8)}
                                            or multipart/form-data with the same fields
                                            (`screens` repeated) and an optional `image` file
    DELETE /api/screens/slides/{id}         take a slide down

Times without an offset are the event's local time. Every /api route needs a bearer token
(wall/api_tokens.py); images are checked and kept by wall/staff_images.py, served like the
announcements' from /media/staff/{name}.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator.application import Livewall
from aggregator.i18n import N_
from aggregator.messages import MessageError
from aggregator.models import utcnow
from aggregator.slides import DEFAULT_SHOW_SECONDS, Slide, SlideError, SlidePlan
from wall import bodies
from wall.api_tokens import bearer
from wall.json_api import field, problem
from wall.params import whole
from wall.staff_images import StaffImages, too_big, upload_of


def add_slide(
    app: Livewall, images: StaffImages, plan: SlidePlan, upload: bytes | None, actor: str
) -> Slide:
    """Add a slide with an optional image (blocking): everything is checked before the image
    is stored, so a refused slide leaves nothing behind."""
    prepared = images.prepare(upload) if upload is not None else None
    if prepared is not None:
        plan = replace(plan, image=prepared.name)
    plan = app.slides.check(plan)
    if prepared is not None:
        images.keep(prepared)
    return app.slides.add(plan, actor)


def moment(value: str | None, zone: ZoneInfo, name: str) -> datetime | None:
    """An ISO date and time; without an offset, the event's local time."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise SlideError(
            f"field {name!r} must be a date and time such as 2026-11-28T14:00, got {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _number(value: str | None, name: str) -> int | None:
    value = (value or "").strip()
    if value and not value.isdigit():
        raise SlideError(f"field {name!r} must be a whole number, got {value!r}")
    return int(value) if value else None


def plan_of_form(form: FormData, zone: ZoneInfo) -> SlidePlan:
    """A slide from a form: the API's multipart fields, or the console's (`every` with
    `every_unit` posts or seconds, times from datetime-local inputs)."""

    def text(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) else None

    every = {
        "every_posts": _number(text("every_posts"), "every_posts"),
        "every_seconds": _number(text("every_seconds"), "every_seconds"),
    }
    unit = text("every_unit")
    if unit in ("posts", "seconds"):
        every = {"every_posts": None, "every_seconds": None}
        every[f"every_{unit}"] = _number(text("every"), "every")
    return _plan(
        zone,
        starts_at=text("starts_at"),
        ends_at=text("ends_at"),
        text=text("text") or "",
        kind=text("kind") or "sponsor",
        screens=[s for s in form.getlist("screens") if isinstance(s, str) and s],
        show_seconds=_number(text("show_seconds"), "show_seconds"),
        **every,
    )


def plan_of_json(body: dict[str, Any], zone: ZoneInfo) -> SlidePlan:
    screens = field(body, "screens", list, [])
    if not all(isinstance(s, str) for s in screens):
        raise SlideError("field 'screens' must be a list of screen names")
    if "image" in body:
        raise SlideError("to attach an image, send multipart/form-data with an 'image' file")
    return _plan(
        zone,
        starts_at=field(body, "starts_at", str),
        ends_at=field(body, "ends_at", str),
        text=field(body, "text", str, ""),
        kind=field(body, "kind", str, "sponsor"),
        screens=screens,
        every_posts=field(body, "every_posts", int),
        every_seconds=field(body, "every_seconds", int),
        show_seconds=field(body, "show_seconds", int),
    )


def _plan(
    zone: ZoneInfo,
    starts_at: str | None,
    ends_at: str | None,
    show_seconds: int | None,
    **rest: Any,
) -> SlidePlan:
    end = moment(ends_at, zone, "ends_at")
    if end is None:
        raise SlideError(N_("field 'ends_at' is required: when the slide stops being shown"))
    start = moment(starts_at, zone, "starts_at") or utcnow()
    return SlidePlan(start, end, show_seconds=show_seconds or DEFAULT_SHOW_SECONDS, **rest)


def routes(app: Livewall) -> list[Route]:
    images = StaffImages.of(app)
    zone = app.settings.zone

    async def listing(request: Request) -> Response:
        def read() -> dict[str, Any]:
            return {
                "pending": [s.payload() for s in app.slides.pending()],
                "recent": [s.payload() for s in app.slides.recent()],
            }

        return JSONResponse(await anyio.to_thread.run_sync(read))

    async def create(request: Request) -> Response:
        multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
        bodies.allow(request, bodies.UPLOAD_LIMIT if multipart else bodies.JSON_LIMIT)
        try:
            if multipart:
                form = await bodies.read_form(request, max_files=1, max_fields=50)
                plan, upload = plan_of_form(form, zone), await upload_of(form)
            else:
                plan, upload = plan_of_json(await bodies.read_object(request), zone), None
            actor = getattr(request.state, "actor", "api")
            slide = await anyio.to_thread.run_sync(add_slide, app, images, plan, upload, actor)
        except bodies.BodyTooLarge as exc:
            return problem(413, too_big(exc.size).message if multipart else exc.message)
        except MessageError as exc:
            return problem(exc.status, exc.message)
        finally:
            await request.close()  # the form's spooled files
        return JSONResponse(slide.payload(), status_code=201)

    async def take_down(request: Request) -> Response:
        slide_id = whole(request.path_params["slide_id"], "the slide id")
        actor = getattr(request.state, "actor", "api")
        try:
            slide = await anyio.to_thread.run_sync(app.slides.take_down, slide_id, actor)
        except SlideError as exc:
            return problem(exc.status, exc.message)
        return JSONResponse(slide.payload())

    return [
        Route("/api/screens/slides", bearer(app, listing), methods=["GET"]),
        Route("/api/screens/slides", bearer(app, create), methods=["POST"]),
        Route("/api/screens/slides/{slide_id}", bearer(app, take_down), methods=["DELETE"]),
    ]
