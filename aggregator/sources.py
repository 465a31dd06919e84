"""Sources as staff see them: how each configured source is doing, from its stored state.

One function, `source_health`, says it; `livewall sources`, /healthz and the console's
Sources page all show what it says. Staff pausing a source, or asking for a run now, leave
their audit entry here, in the transaction of the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from aggregator import audit
from aggregator.i18n import N_
from aggregator.models import Post, Source, utcnow
from aggregator.settings import Settings
from aggregator.store import Store
from collectors.base import SourceOptions, needs_staff

# The states a source can be in, as `livewall sources` and the console name them (the
# console translates them); a failing source's state also says how many runs in a row.
OK, FAILING, CONFIG_ERROR = N_("ok"), "failing", N_("config error")
PAUSED, NEVER_RUN, DISABLED = N_("paused"), N_("never run"), N_("disabled")
IDLE_STATES = (PAUSED, NEVER_RUN, DISABLED)
TABLE_HEADER = ("SOURCE", "TYPE", "STATE", "LAST SUCCESS", "NEXT ATTEMPT", "POSTS", "LAST ERROR")


@dataclass(frozen=True)
class SourceHealth:
    """One source's health: its configuration and what its stored state says."""

    name: str
    type: str
    enabled: bool
    state: str  # ok, failing ×N, config error, paused, never run or disabled
    paused: bool
    failures: int  # failed runs in a row
    last_success: datetime | None
    next_attempt: datetime | None
    posts: int  # collected since its first run
    # The last error's kind and text, or a notice's (a run stopped at its bound: backlog),
    # kept until a run ends clean.
    error_kind: str | None
    error: str | None

    @property
    def problem(self) -> str | None:
        """The kind of error it is failing with now; None while its runs succeed."""
        return self.error_kind if self.failures else None

    @property
    def config_error(self) -> bool:
        """Failing in a way only staff can mend (a refused credential, a wrong setting)."""
        return needs_staff(self.problem)

    def row(self, zone: ZoneInfo | None = None) -> tuple[str, ...]:
        """Its line in `livewall sources` (columns: TABLE_HEADER), times in `zone` (the
        event's; the machine's when None)."""
        return (
            self.name,
            self.type,
            self.state,
            local_time(self.last_success, zone),
            local_time(self.next_attempt, zone),
            str(self.posts),
            f"{self.error_kind}: {self.error}" if self.error else "",
        )


def source_health(options: SourceOptions, stored: Source | None) -> SourceHealth:
    """How a configured source is doing; `stored` is its row (None: it never ran)."""
    return SourceHealth(
        name=options.name,
        type=options.type,
        enabled=options.enabled,
        state=_state(options, stored),
        paused=bool(stored and stored.paused),
        failures=stored.consecutive_errors if stored else 0,
        last_success=stored.last_success if stored else None,
        next_attempt=stored.next_attempt if stored else None,
        posts=stored.posts_collected if stored else 0,
        error_kind=stored.last_error_kind if stored else None,
        error=stored.last_error if stored else None,
    )


def _state(options: SourceOptions, stored: Source | None) -> str:
    if not options.enabled:
        return DISABLED
    if stored is None:
        return NEVER_RUN
    if stored.paused:
        return PAUSED
    if needs_staff(stored.last_error_kind):
        return CONFIG_ERROR
    if stored.consecutive_errors:
        return f"{FAILING} ×{stored.consecutive_errors}"
    return OK


def source_row(options: SourceOptions, stored: Source | None) -> tuple[str, ...]:
    """A source's line in `livewall sources`."""
    return source_health(options, stored).row()


def local_time(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """A moment in `zone` (the machine's when None), to the second; a dash for none."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


class Sources:
    """The configured sources' stored state, and what staff do to them."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def stored(self) -> dict[str, Source]:
        """Every source's stored row by name (sources that never ran have none)."""
        with self.store.read() as session:
            return {s.name: s for s in session.exec(select(Source))}

    def health(self) -> list[SourceHealth]:
        """Every configured source's health, in the configuration's order."""
        stored = self.stored()
        return [source_health(o, stored.get(o.name)) for o in self.settings.sources]

    def collected_today(self) -> dict[str, int]:
        """Posts collected since midnight in the event's time zone, by source."""
        midnight = (
            utcnow()
            .astimezone(self.settings.zone)
            .replace(hour=0, minute=0, second=0, microsecond=0)
        )
        query = (
            select(Post.source, sa.func.count())
            .where(col(Post.collected_at) >= midnight)
            .group_by(col(Post.source))
        )
        with self.store.read() as session:
            return {name: count for name, count in session.exec(query)}

    def pause(self, name: str, paused: bool = True, actor: str | None = None) -> None:
        """Pause (or resume) a source; with `actor`, the audit log says who did."""
        options = self.settings.source(name)  # an unknown name fails here (KeyError)
        with self.store.write() as session:
            source = session.get(Source, name) or Source(name=name, type=options.type)
            source.paused = paused
            session.add(source)
            if actor is not None:
                action = "source:pause" if paused else "source:resume"
                session.add(audit.entry(actor, action, name))

    def note_run(self, name: str, actor: str) -> None:
        """Staff asked for a run now (it runs in the background): the audit log says who."""
        with self.store.write() as session:
            session.add(audit.entry(actor, "source:run", name))
