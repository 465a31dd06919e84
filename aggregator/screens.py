"""Screens as staff see them: each screen's last heartbeat, and the commands staff send it.

A screen beats every 30 s with what it runs and where it is; staff list the screens online
or not, and change a screen's layout or reload it from afar. A command goes through the
change feed the screen already follows, with its audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from sqlmodel import select

from aggregator import audit
from aggregator.i18n import N_
from aggregator.models import Screen, utcnow
from aggregator.settings import Layout, ScreenSettings, Settings
from aggregator.store import Store

LAYOUTS: tuple[str, ...] = get_args(Layout)
# The console and the screens index show each layout by its translated name: marked here.
LAYOUT_NAMES = (N_("grid"), N_("spotlight"), N_("ticker"))
# Screens beat every 30 s: two missed beats and a margin make a screen offline.
ONLINE_WITHIN = timedelta(seconds=75)


@dataclass(frozen=True)
class Heartbeat:
    """What a screen reports of itself, its fields already checked and bounded."""

    name: str
    version: str | None = None
    last_event_id: int | None = None
    viewport: str | None = None
    offline_copy: bool | None = None  # None: the screen cannot tell (no service worker)
    client: str | None = None  # the address it beats from


@dataclass(frozen=True)
class ScreenStatus:
    """A screen as staff see it: configured or only reporting, online or not."""

    name: str
    settings: ScreenSettings | None  # None: a screen that beats but is not configured
    beat: Screen | None  # None: never seen
    online: bool

    @property
    def layout(self) -> str | None:
        """The layout it shows: staff's override, else the configured one."""
        if self.beat is not None and self.beat.layout:
            return self.beat.layout
        return self.settings.layout if self.settings else None


class Screens:
    """The `screens` table: heartbeats in, statuses out, commands from staff."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def record(self, beat: Heartbeat) -> Screen:
        """Keep a configured screen's latest heartbeat (its layout override stays)."""
        if self.settings.screen(beat.name) is None:
            raise KeyError(f"unknown screen {beat.name!r}")
        with self.store.write() as session:
            screen = session.get(Screen, beat.name) or Screen(name=beat.name)
            screen.last_seen = utcnow()
            screen.version, screen.last_event_id = beat.version, beat.last_event_id
            screen.viewport, screen.offline_copy = beat.viewport, beat.offline_copy
            screen.client = beat.client
            session.add(screen)
        return screen

    def statuses(self, now: datetime | None = None) -> list[ScreenStatus]:
        """The configured screens in the configuration's order, then any other that beats."""
        now = now or utcnow()
        with self.store.read() as session:
            beats = {s.name: s for s in session.exec(select(Screen))}
        configured = [s.name for s in self.settings.screens]
        names = configured + sorted(set(beats) - set(configured))
        return [self._status(name, beats.get(name), now) for name in names]

    def _status(self, name: str, beat: Screen | None, now: datetime) -> ScreenStatus:
        seen = beat.last_seen if beat else None
        online = seen is not None and now - seen <= ONLINE_WITHIN
        return ScreenStatus(name, self.settings.screen(name), beat, online)

    def set_layout(self, name: str, layout: str, actor: str) -> int:
        """Show another layout on a screen, now and after it reloads; returns the change."""
        self._configured(name)
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r} (one of {', '.join(LAYOUTS)})")
        return self._command(name, {"layout": layout}, actor, f"layout {layout}")

    def reload(self, name: str, actor: str) -> int:
        """Have a screen load its page again (after an update, or to clear a fault)."""
        self._configured(name)
        return self._command(name, {"action": "reload"}, actor, "reload")

    def _configured(self, name: str) -> None:
        if self.settings.screen(name) is None:
            raise ValueError(f"no screen named {name!r}")

    def _command(self, name: str, payload: dict[str, str], actor: str, what: str) -> int:
        with self.store.write() as session:
            if "layout" in payload:
                screen = session.get(Screen, name) or Screen(name=name)
                screen.layout = payload["layout"]
                session.add(screen)
            session.add(audit.entry(actor, "screen", f"{name}: {what}"))
            payload = {**payload, "screen": name}
            return self.store.add_change(session, "screen", screen=name, payload=payload)
