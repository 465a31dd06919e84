"""Streaming sources: one long-running task per source whose collector streams (Mastodon with
`streaming = true`), storing each event within a second while polling keeps its own schedule.

The stream never moves the polling cursor: each result is stored with the source's state as it
is in the store at that moment, so polling (min_id) still reads everything after its own cursor
and catches up whatever a dropped stream missed; the pipeline drops what it already holds.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import anyio

from aggregator.harvest import AUTH_PAUSE, Harvest
from aggregator.ingest import IngestReport
from collectors.base import CollectorError, CollectResult, SourceOptions, SourceState, needs_staff

log = logging.getLogger("livewall.streams")

OnResult = Callable[[CollectResult], Awaitable[None]]


@runtime_checkable
class Streaming(Protocol):
    """A collector that can also follow its network live (collectors/mastodon.py)."""

    async def stream(
        self, state: SourceState, on_result: OnResult, stop: anyio.Event | None = None
    ) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Waits between two connections of one stream: doubling, jittered, reset by a long life."""

    first: float = 1.0
    longest: float = 120.0
    # A stream that stayed up this long was healthy: its next drop starts the doubling over.
    healthy_after: float = 60.0

    def delay(self, failures: int, error: CollectorError | None, jitter: float) -> float:
        if error is not None and needs_staff(error.kind):
            # A refused token will not fix itself; polling reports it to staff meanwhile.
            return AUTH_PAUSE.total_seconds()
        # Jitter keeps the streams of several sources dropped together from returning together.
        wait = min(self.longest, self.first * 2.0 ** max(failures - 1, 0)) * (0.5 + jitter)
        asked = error.retry_after if error is not None else None
        return max(wait, asked) if asked is not None else wait


class StreamRunner:
    """The streams of one Livewall's streaming sources, started and stopped with the scheduler."""

    def __init__(
        self,
        harvest: Harvest,
        backoff: Backoff = Backoff(),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.harvest = harvest
        self.backoff = backoff
        self.jitter = jitter
        self._stop: anyio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def sources(self) -> list[SourceOptions]:
        return [o for o in self.harvest.sources() if getattr(o, "streaming", False)]

    async def start(self) -> None:
        """Start following every streaming source; returns at once."""
        sources = self.sources()
        if not sources or self._task is not None:
            return
        self._stop = anyio.Event()
        self._task = asyncio.create_task(self._run(sources, self._stop), name="livewall-streams")

    async def stop(self, timeout: float = 5.0) -> None:
        """Close every stream; a store write under way finishes first."""
        task, self._task = self._task, None
        if task is None or self._stop is None:
            return
        self._stop.set()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self, sources: list[SourceOptions], stop: anyio.Event) -> None:
        async with anyio.create_task_group() as group:
            for options in sources:
                group.start_soon(self._follow, options, stop)

    async def _follow(self, options: SourceOptions, stop: anyio.Event) -> None:
        """Connect, stream until the connection drops, catch up by polling, wait, reconnect."""
        collector = self.harvest.collector(options)
        if not isinstance(collector, Streaming):
            log.warning("source %s cannot stream: polling only", options.name)
            return
        failures = 0
        while not stop.is_set():
            started = anyio.current_time()
            error = await self._stream_once(options, collector, stop)
            if stop.is_set():
                return
            lived = anyio.current_time() - started
            failures = 1 if lived >= self.backoff.healthy_after else failures + 1
            await self._catch_up(options, error)
            delay = self.backoff.delay(failures, error, self.jitter())
            log.info("stream of %s ended; reconnecting in %.1f s", options.name, delay)
            with anyio.move_on_after(delay):
                await stop.wait()

    async def _stream_once(
        self, options: SourceOptions, collector: Streaming, stop: anyio.Event
    ) -> CollectorError | None:
        async def on_result(result: CollectResult) -> None:
            report = await anyio.to_thread.run_sync(self.store_result, options, result)
            log.info("stream %s", report.line())

        try:
            source = await anyio.to_thread.run_sync(self.harvest.load, options)
            await collector.stream(source.state(), on_result, stop)
        except CollectorError as error:
            log.warning("stream of %s failed: %s", options.name, error)
            return error
        except Exception:  # a stream bug must not stop the other streams nor polling
            log.exception("stream of %s crashed", options.name)
        return None

    async def _catch_up(self, options: SourceOptions, error: CollectorError | None) -> None:
        """Poll now rather than at the next scheduled run: the stream may have missed posts."""
        if error is not None and needs_staff(error.kind):
            return  # polling on its schedule reports it; a hot poll would not help
        report = await self.harvest.run_source(options.name)
        log.info("catch-up after the stream of %s: %s", options.name, report.line())

    def store_result(self, options: SourceOptions, result: CollectResult) -> IngestReport:
        """Store a stream event; the source's cursor, schedule and health stay polling's."""
        return self.harvest.pipeline.ingest(options, result, keep_state=True)
