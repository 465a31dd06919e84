"""Whether livewall is ready to serve its purpose: the store answers, a scheduler ticks (in
this process or a worker elsewhere: it leaves a heartbeat in the store), and no source waits
for staff to mend its configuration.

/healthz only says the process answers; /readyz says this.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from aggregator.models import Heartbeat, utcnow
from aggregator.sources import SourceHealth, Sources
from aggregator.store import Store

log = logging.getLogger("livewall.readiness")

SCHEDULER = "scheduler"
# A scheduler ticks every second; it writes its heartbeat at most this often (SQLite has one
# writer), and is called stalled when none came for STALE_AFTER.
BEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=60)


class Heartbeats:
    """The heartbeat of the scheduler of this process, written to the store."""

    def __init__(self, store: Store, role: str = SCHEDULER) -> None:
        self.store = store
        self.role = role
        self.started_at = utcnow()
        self._last_beat = float("-inf")

    def due(self) -> bool:
        return time.monotonic() - self._last_beat >= BEAT_SECONDS

    def beat(self) -> None:
        """Say this scheduler still ticks (blocking: run it in a thread)."""
        self._last_beat = time.monotonic()
        with self.store.write() as session:
            row = session.get(Heartbeat, self.role) or Heartbeat(
                role=self.role, started_at=self.started_at, last_tick=utcnow()
            )
            row.host, row.pid, row.last_tick = socket.gethostname(), os.getpid(), utcnow()
            row.started_at = self.started_at
            session.add(row)

    def forget(self) -> None:
        """A scheduler that stops on purpose leaves no heartbeat to go stale."""
        with self.store.write() as session:
            row = session.get(Heartbeat, self.role)
            if row is not None and row.pid == os.getpid():
                session.delete(row)


@dataclass(frozen=True)
class Readiness:
    store: str  # ok, unreachable
    scheduler: str  # ticking, stalled, none (no scheduler has ticked), unknown (store down)
    sources: list[SourceHealth] = field(default_factory=list)
    last_tick: datetime | None = None
    ticking_at: str | None = None  # host and pid of the ticking scheduler
    store_error: str | None = None

    @property
    def config_errors(self) -> list[SourceHealth]:
        return [source for source in self.sources if source.config_error]

    @property
    def ready(self) -> bool:
        return self.store == "ok" and self.scheduler == "ticking" and not self.config_errors

    def problems(self) -> list[str]:
        """What is wrong, in words for staff (they may hold a remote's error text)."""
        found = [f"store unreachable: {self.store_error}"] if self.store_error else []
        if self.scheduler == "stalled" and self.last_tick is not None:
            found.append(f"scheduler stalled: last tick {self.last_tick.isoformat()}")
        elif self.scheduler == "none":
            found.append("no scheduler ticks: start `livewall worker` (or `livewall run`)")
        found += [f"source {s.name}: {s.error_kind}: {s.error}" for s in self.config_errors]
        return found


def readiness(store: Store, sources: Sources) -> Readiness:
    """Check the store, the scheduler's heartbeat and the sources (blocking)."""
    try:
        with store.read() as session:
            beat = session.get(Heartbeat, SCHEDULER)
        found = sources.health()
    except sa.exc.SQLAlchemyError as exc:
        log.warning("store unreachable: %s", exc)
        return Readiness("unreachable", "unknown", store_error=type(exc).__name__)
    if beat is None:
        return Readiness("ok", "none", found)
    ticking = utcnow() - beat.last_tick <= STALE_AFTER
    return Readiness(
        "ok",
        "ticking" if ticking else "stalled",
        found,
        beat.last_tick,
        f"{beat.host} pid {beat.pid}",
    )
