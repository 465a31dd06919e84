"""The console's routes, mounted by wall/app.py: every one of them behind the guard but login."""

from __future__ import annotations

from starlette.routing import Route

from wall.console.admin import AdminViews
from wall.console.common import Console
from wall.console.digest_preview import DigestPreviewViews
from wall.console.login import LoginViews
from wall.console.queue import QueueViews
from wall.console.reports import ReportViews
from wall.console.staff_posts import StaffPostViews


def routes(console: Console) -> list[Route]:
    return [
        *LoginViews(console).routes(),
        *QueueViews(console).routes(),
        *AdminViews(console).routes(),
        *ReportViews(console).routes(),
        *StaffPostViews(console).routes(),
        *DigestPreviewViews(console).routes(),
    ]
