"""Running collectors: one source at a time per source, its failures kept as values.

The schedule lives in the store (next attempt, consecutive errors), so a restart resumes
where it was; APScheduler only ticks `Harvest.run_due` (see scheduler.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import anyio
import httpx

from aggregator.ingest import IngestReport, Pipeline
from aggregator.models import Source, utcnow
from aggregator.readiness import Heartbeats
from aggregator.settings import Settings
from aggregator.sources import Sources
from aggregator.store import Store
from collectors.base import (
    Collector,
    CollectorContext,
    CollectorError,
    CollectResult,
    ErrorKind,
    SourceOptions,
    needs_staff,
)
from collectors.registry import build_collector

log = logging.getLogger("livewall.harvest")

MAX_BACKOFF = timedelta(hours=1)
# A refused credential will not fix itself: wait long, staff must act (livewall sources).
AUTH_PAUSE = timedelta(hours=1)
RUN_TIMEOUT = 120.0
# At a stop, how long runs in progress may take to finish storing what they collected.
STOP_GRACE = 10.0
# The kind shown beside a notice (not an error): a run stopped at its page bound, more is owed.
BACKLOG = "backlog"
USER_AGENT = "livewall/0.1 (+https://github.com/livewall/livewall)"


def next_attempt(
    options: SourceOptions,
    now: datetime,
    errors: int = 0,
    error: CollectorError | None = None,
    wait_at_least: float | None = None,
    jitter: Callable[[], float] = random.random,
) -> datetime:
    """When to run a source again: its pace, exponential backoff after failures, the remote's wish."""
    if error is not None and needs_staff(error.kind):
        delay = AUTH_PAUSE
    elif errors:
        base = timedelta(seconds=options.every * 2 ** min(errors, 12))
        # Jitter spreads retries so several failing sources do not hit the network together.
        delay = min(base, MAX_BACKOFF) * (0.75 + 0.5 * jitter())
    else:
        delay = timedelta(seconds=options.every)
    asked = (error.retry_after if error else None) or wait_at_least
    if asked is not None:
        delay = max(delay, timedelta(seconds=asked))
    return now + delay


def make_http_client(timeout: float = 20.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=10.0),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    )


class Harvest:
    """The collectors of one event, their schedule and the pipeline they feed."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        pipeline: Pipeline,
        http: httpx.AsyncClient,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.states = Sources(store, settings)
        self.context = CollectorContext(
            http=http,
            hashtags=settings.event.hashtags,
            env=os.environ if env is None else env,
            languages=settings.event.languages,
            event_start=settings.event.start_utc,
        )
        self.heartbeats = Heartbeats(store)  # written by the scheduler's ticks
        self._collectors: dict[str, Collector] = {}
        self._running: set[str] = set()
        self.stopping = False

    def sources(self) -> list[SourceOptions]:
        return [s for s in self.settings.sources if s.enabled]

    def collector(self, options: SourceOptions) -> Collector:
        if options.name not in self._collectors:
            self._collectors[options.name] = build_collector(options, self.context)
        return self._collectors[options.name]

    async def stop(self, grace: float = STOP_GRACE) -> list[str]:
        """Start no new run and give the runs in progress `grace` seconds to store what they
        collected; return the sources still running after that."""
        self.stopping = True
        with anyio.move_on_after(grace):
            while self._running:
                await asyncio.sleep(0.05)
        return sorted(self._running)

    async def run_due(self) -> list[IngestReport]:
        """Start every source whose next attempt has come; never two runs of one source."""
        if self.stopping:
            return []
        due = await anyio.to_thread.run_sync(self._due_names)
        names = [n for n in due if n not in self._running]
        return list(await asyncio.gather(*(self.run_source(n) for n in names)))

    def _due_names(self) -> list[str]:
        now = utcnow()
        states = self.states.stored()
        return [
            o.name
            for o in self.sources()
            if not (state := states.get(o.name))
            or (not state.paused and (state.next_attempt is None or state.next_attempt <= now))
        ]

    async def run_source(self, name: str) -> IngestReport:
        """Collect one source once and store what it gave; errors come back in the report."""
        options = self.settings.source(name)
        if name in self._running:
            return IngestReport(name, error="already running")
        self._running.add(name)
        try:
            return await self._run(options)
        finally:
            self._running.discard(name)

    async def _run(self, options: SourceOptions) -> IngestReport:
        source = await anyio.to_thread.run_sync(self.load, options)
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                result = await self.collector(options).collect(source.state())
        except CollectorError as error:
            return await anyio.to_thread.run_sync(self._failed, options, source, error)
        except TimeoutError:
            late = CollectorError(ErrorKind.TIMEOUT, f"no answer within {RUN_TIMEOUT:.0f} s")
            return await anyio.to_thread.run_sync(self._failed, options, source, late)
        except Exception as exc:  # a collector bug must not stop the others
            # The traceback is for developers (-v); staff get the one-line error below.
            log.error("collector %s crashed", options.name, exc_info=log.isEnabledFor(logging.INFO))
            crash = CollectorError(ErrorKind.BAD_PAYLOAD, f"collector failed: {exc!r}")
            return await anyio.to_thread.run_sync(self._failed, options, source, crash)
        return await anyio.to_thread.run_sync(self._succeeded, options, source, result)

    def load(self, options: SourceOptions) -> Source:
        """The source's stored row, or a fresh one for a source never run."""
        with self.store.read() as session:
            found = session.get(Source, options.name)
        return found or Source(name=options.name, type=options.type)

    def _succeeded(
        self, options: SourceOptions, source: Source, result: CollectResult
    ) -> IngestReport:
        errors = source.consecutive_errors + 1 if result.error else 0
        when = next_attempt(options, utcnow(), errors, result.error, result.wait_at_least)
        report = self.pipeline.ingest(options, result, when)
        if result.notice and result.error is None:
            self._notify(options, result.notice)
        return report

    def _notify(self, options: SourceOptions, notice: str) -> None:
        """Show staff a run that stopped at its bound, without counting it as a failure.

        The posts and the state that owes the rest are already stored; the notice is what
        `livewall sources` and the console show until a later run ends without one.
        """
        with self.store.write() as session:
            stored = session.get(Source, options.name)
            if stored is not None:
                stored.last_error, stored.last_error_kind = notice, BACKLOG
                session.add(stored)
        log.warning("source %s: %s", options.name, notice)

    def _failed(
        self, options: SourceOptions, source: Source, error: CollectorError
    ) -> IngestReport:
        now = utcnow()
        with self.store.write() as session:
            stored = session.get(Source, options.name) or Source(
                name=options.name, type=options.type
            )
            stored.consecutive_errors += 1
            stored.last_attempt = now
            stored.last_error, stored.last_error_kind = error.message, error.kind.value
            stored.next_attempt = next_attempt(options, now, stored.consecutive_errors, error)
            session.add(stored)
        log.warning("source %s failed: %s", options.name, error)
        self.pipeline.metrics.source_errors.labels(options.name, error.kind.value).inc()
        return IngestReport(options.name, error=str(error))

    def pause(self, name: str, paused: bool = True) -> None:
        self.states.pause(name, paused)
