"""Downloads for the staff who write the event's report: posts (CSV, JSONL) with the queue's
filters and a date range, and the statistics' counts (CSV).

Posts are streamed batch by batch (an async generator; each batch is one short read in a
thread), so an export of the whole event costs the memory of one batch, and its first bytes
leave before its last rows are read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from aggregator import export
from aggregator.accounts import Staff
from aggregator.moderation.queue import QueueFilter
from wall.console.common import Console
from wall.params import BadRequest

FORMATS: dict[str, tuple[str, Callable[[list[dict[str, object]]], str]]] = {
    "csv": ("text/csv; charset=utf-8", export.csv_posts),
    "jsonl": ("application/x-ndjson; charset=utf-8", export.jsonl_posts),
}
# Spreadsheets read a CSV file as UTF-8 (accents intact) only when it starts with a BOM.
BOM = "\ufeff"


def day_bound(raw: str, name: str, zone: ZoneInfo, next_day: bool = False) -> datetime | None:
    """The start of day `raw` (YYYY-MM-DD, in the event's time zone) in UTC; with `next_day`,
    the start of the day after, so that `to` includes its whole day."""
    if not raw.strip():
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise BadRequest(
            f"query parameter '{name}' must be a date such as 2026-11-25, got {shown!r}"
        ) from None
    start = datetime.combine(day + timedelta(days=int(next_day)), time(), zone)
    return start.astimezone(UTC)


def date_range(request: Request, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    params = request.query_params
    since = day_bound(params.get("from", ""), "from", zone)
    until = day_bound(params.get("to", ""), "to", zone, next_day=True)
    if since is not None and until is not None and until <= since:
        raise BadRequest("query parameter 'to' must not be before 'from'")
    return since, until


def attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


class ExportViews:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [
            Route("/console/export/posts.{fmt:str}", require(self.posts)),
            Route("/console/export/stats.csv", require(self.stats)),
        ]

    def _filter(self, request: Request) -> QueueFilter:
        since, until = date_range(request, self.console.app.settings.zone)
        wanted = QueueFilter.from_params(request.query_params, default="all")
        return replace(wanted, since=since, until=until)

    async def posts(self, request: Request, staff: Staff) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in FORMATS:
            raise BadRequest(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
        media_type, _format = FORMATS[fmt]
        return StreamingResponse(
            self._posts(self._filter(request), fmt),
            media_type=media_type,
            headers=attachment(f"livewall-posts.{fmt}"),
        )

    async def _posts(self, wanted: QueueFilter, fmt: str) -> AsyncIterator[str]:
        formatted = FORMATS[fmt][1]
        if fmt == "csv":
            yield BOM + export.csv_lines([export.EXPORT_FIELDS])
        after = 0
        posts = self.console.app.posts
        while rows := await self.console.run(posts.export_batch, wanted, after):
            yield formatted(rows)
            after = int(str(rows[-1]["id"]))

    async def stats(self, request: Request, staff: Staff) -> Response:
        zone = self.console.app.settings.zone
        since, until = date_range(request, zone)
        rows = await self.console.run(self.console.app.posts.hourly_counts, zone, since, until)
        body = BOM + export.csv_lines([export.STATS_FIELDS, *rows])
        return Response(
            body, media_type="text/csv; charset=utf-8", headers=attachment("livewall-stats.csv")
        )
