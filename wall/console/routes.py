"""The console's routes, mounted by wall/app.py: every one of them behind the guard but login."""

from __future__ import annotations

from starlette.routing import Route

from aggregator.application import Livewall
from wall.console.admin import AdminViews
from wall.console.common import Console
from wall.console.login import LoginViews
from wall.console.preferences import PreferenceViews
from wall.console.queue import QueueViews
from wall.console.reports import ReportViews
from wall.console.staff_posts import StaffPostViews
from wall.templating import Templates


def routes(app: Livewall, templates: Templates) -> list[Route]:
    console = Console(app, templates)
    return [
        *LoginViews(console).routes(),
        *QueueViews(console).routes(),
        *AdminViews(console).routes(),
        *ReportViews(console).routes(),
        *StaffPostViews(console).routes(),
        *PreferenceViews(console).routes(),
    ]
