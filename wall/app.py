"""The web application: one factory, explicit settings, no module-level state."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

import anyio
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from aggregator.application import Livewall
from aggregator.i18n import LOCALES
from aggregator.media_urls import shown_image
from aggregator.scheduler import create_scheduler, stop_collecting
from aggregator.store import StoreBusy
from aggregator.streams import StreamRunner
from wall import api, health, heartbeat, hooks, media, messages, metrics, slides
from wall.access_log import AccessLog
from wall.assets import Assets
from wall.bodies import BodyLimit, BodyTooLarge
from wall.branding import BrandFiles
from wall.console import routes as console
from wall.console.common import Console
from wall.digest import DigestViews
from wall.language_cookie import RememberLanguage
from wall.params import BadRequest, PlainQuery
from wall.prefetch import Prefetch
from wall.screens import NETWORK_ICONS, ScreenViews
from wall.security import SecurityHeaders
from wall.templating import Templates, hue, initials

log = logging.getLogger("livewall.web")
# When to try again after the store was too busy (another process's long write).
BUSY_RETRY_SECONDS = 5


def create_app(app: Livewall, *, run_scheduler: bool = False) -> Starlette:
    """The Starlette app for one Livewall; with `run_scheduler` it also collects (all-in-one)."""
    assets = Assets()
    brands = BrandFiles(app.settings, assets)
    cache = media.MediaCache(media.default_directory(app.store.url, app.env), env=app.env)
    templates = Templates(
        assets,
        app.settings.event.timezone,
        {
            "media_url": cache.url,
            "shown_image": shown_image,
            "initials": initials,
            "hue": hue,
            "network_icons": NETWORK_ICONS,
            "brand_look": brands.look,
        },
    )
    screens = ScreenViews(app, templates)
    prefetch = Prefetch(app, cache)
    staff = Console(app, templates)  # one session key: the console's and /readyz's

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        froze = await warm(app, screens)
        await app.feed.start()
        await prefetch.start()
        scheduler: AsyncIOScheduler | None = None
        if run_scheduler:
            scheduler = create_scheduler(app.harvest, app.digest, app.settings.zone)
            scheduler.start()
        streams = StreamRunner(app.harvest) if run_scheduler else None
        if streams is not None:
            await streams.start()
        try:
            yield
        finally:
            if streams is not None:
                await streams.stop()
            if scheduler is not None:
                await stop_collecting(scheduler, app.harvest)
            await prefetch.stop()
            await app.feed.stop()
            await app.aclose()
            if froze:
                gc.unfreeze()

    async def home(request: Request) -> Response:
        return RedirectResponse("/wall/", status_code=307)

    async def http_error(request: Request, exc: Exception) -> Response:
        status, detail = _status_and_detail(exc)
        if request.url.path.startswith(("/api/", "/hooks/", "/console/api/")):
            return JSONResponse({"error": detail}, status_code=status)
        return templates.response(
            "error.html", screens.language(request), status=status, code=status, detail=detail
        )

    async def store_busy(request: Request, exc: Exception) -> Response:
        # A webhook's sender, a moderator or a screen tries again: never a 500 for a lock.
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)
        busy = HTTPException(503, "the store is busy with another write; try again shortly")
        response = await http_error(request, busy)
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response

    routes = [
        Route("/", home),
        *api.routes(app),
        *hooks.routes(app),
        *screens.routes(),
        *console.routes(staff),
        *messages.routes(app),
        *slides.routes(app),
        *heartbeat.routes(app),
        *health.routes(app, staff.guard),
        *metrics.routes(app),
        *cache.routes(),
        *brands.routes(),
        *DigestViews(app, templates).routes(),
        Mount("/static", StaticFiles(directory=assets.directory), name="static"),
    ]
    refusals = {
        HTTPException: http_error,
        BadRequest: http_error,
        BodyTooLarge: http_error,
        StoreBusy: store_busy,
    }
    web = Starlette(routes=routes, lifespan=lifespan, exception_handlers=refusals)
    web.state.livewall = app
    # The server calls it when told to stop, so open streams end before it waits for them.
    web.state.close_streams = screens.close
    # The last added is the outermost: every answer, refusals included, gets the headers.
    web.add_middleware(RememberLanguage, languages=tuple(LOCALES))
    web.add_middleware(PlainQuery)
    web.add_middleware(BodyLimit)
    web.add_middleware(SecurityHeaders)
    web.add_middleware(AccessLog)  # outermost: it times and sees every answer
    return web


async def warm(app: Livewall, screens: ScreenViews) -> bool:
    """Do before the first connection what the first post would otherwise wait for; say
    whether the heap was frozen (and is to be unfrozen when the app stops)."""
    # Ingest (webhooks, collectors) must not make the first post wait for models to load…
    await anyio.to_thread.run_sync(app.pipeline.warm)
    await anyio.to_thread.run_sync(app.store.open_connections)
    # …nor every screen, for templates and queries to compile.
    await anyio.to_thread.run_sync(screens.warm)
    # What start-up made lives as long as the process: out of the garbage collector's sight,
    # a full collection no longer walks it (half a second on a busy host, while a thousand
    # screens wait for a post). Unfrozen when the app stops. A process that froze its heap
    # itself keeps it as it is: the test suite, whose heap is large and lives long, starts an
    # app per test, and a full collection at each start would cost more than the start.
    if gc.get_freeze_count():
        return False
    gc.collect()
    gc.freeze()
    return True


def _status_and_detail(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HTTPException):
        return exc.status_code, exc.detail
    assert isinstance(exc, BadRequest | BodyTooLarge)
    return exc.status, exc.message
