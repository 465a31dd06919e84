"""Pages every staff member reads: the audit log (with CSV export) and statistics."""

from __future__ import annotations

import io

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator import audit, stats
from aggregator.accounts import Staff
from aggregator.templating import network_name
from wall.console.charts import Series, horizontal_bars, stacked_bars
from wall.console.common import Console
from wall.i18n import hour_label
from wall.params import query_whole


def audit_filter(request: Request) -> audit.AuditFilter:
    params = request.query_params
    return audit.AuditFilter(
        actor=params.get("actor", "").strip()[:100],
        action=params.get("action", "").strip()[:40],
        post_id=query_whole(request, "post"),
        text=params.get("text", "").strip()[:100],
    )


class ReportViews:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[Route]:
        require = self.console.guard.require
        return [
            Route("/console/audit", require(self.audit)),
            Route("/console/audit.csv", require(self.audit_csv)),
            Route("/console/stats", require(self.stats)),
        ]

    async def audit(self, request: Request, staff: Staff) -> Response:
        wanted = audit_filter(request)
        rows = await self.console.run(audit.entries, self.console.store, wanted)
        actors = await self.console.run(audit.actors, self.console.store)
        return self.console.page(
            request, staff, "console/audit.html", rows=rows, wanted=wanted, actors=actors,
            query=request.url.query, limit=audit.LIMIT,
        )  # fmt: skip

    async def audit_csv(self, request: Request, staff: Staff) -> Response:
        rows = await self.console.run(
            audit.entries, self.console.store, audit_filter(request), None
        )
        out = io.StringIO()
        audit.write_csv(rows, out)
        headers = {"Content-Disposition": 'attachment; filename="livewall-audit.csv"'}
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

    async def stats(self, request: Request, staff: Staff) -> Response:
        settings = self.console.app.settings
        figures = await self.console.run(
            stats.gather, self.console.store, tuple(s.name for s in settings.screens)
        )
        _ = self.console.gettext(request)
        language = self.console.language(request)
        zone = settings.event.timezone
        labels = [hour_label(h.start, language, zone) for h in figures.hours]
        series = [
            Series(network_name(n), [h.by_network.get(n, 0) for h in figures.hours])
            for n in figures.networks
        ]
        delays = figures.decisions
        bucket_labels = [
            _("under 1 min"),
            _("1–5 min"),
            _("5–15 min"),
            _("15–60 min"),
            _("over 1 h"),
        ]
        return self.console.page(
            request, staff, "console/stats.html", figures=figures,
            per_hour=stacked_bars(labels, series, _("Posts per hour, by network")),
            contributors=horizontal_bars(
                [(name or handle, count) for handle, name, count in figures.contributors],
                _("Top contributors"),
            ),
            delays=horizontal_bars(list(zip(bucket_labels, delays.buckets, strict=True)),
                                   _("Time from arrival to decision")),
            median=_minutes(delays.median_seconds), p90=_minutes(delays.p90_seconds),
        )  # fmt: skip


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
