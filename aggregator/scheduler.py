"""APScheduler only ticks: the schedule itself (next attempt, backoff) lives in the store."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

import anyio
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from aggregator.demo_day import seed_previous_day
from aggregator.digest.jobs import add_digest_jobs
from aggregator.digest.runs import DigestRuns
from aggregator.harvest import Harvest

log = logging.getLogger("livewall.scheduler")

TICK_SECONDS = 1.0


def create_scheduler(
    harvest: Harvest, digest: DigestRuns, zone: ZoneInfo, tick: float = TICK_SECONDS
) -> AsyncIOScheduler:
    """A scheduler that starts due sources every tick and builds each day's digest; start it
    inside a running event loop."""
    scheduler = AsyncIOScheduler(timezone=zone)
    scheduler.add_job(
        _tick,
        "interval",
        seconds=tick,
        args=[harvest],
        id="harvest",
        # A slow collector must not make the next tick count as missed and skipped:
        # each source's own run is guarded in Harvest, so ticks may overlap.
        max_instances=100,
        coalesce=True,
        misfire_grace_time=30,
        next_run_time=datetime.now(zone),  # the first tick at once: a wall is alive at start
    )
    seed = partial(seed_previous_day, harvest.pipeline, harvest.sources(), digest)
    add_digest_jobs(scheduler, digest, seed)
    return scheduler


async def _tick(harvest: Harvest) -> None:
    await _beat(harvest)
    try:
        reports = await harvest.run_due()
    except asyncio.CancelledError:
        if not harvest.stopping:
            raise
        return  # a stop that did not wait for this run: not an error worth a traceback
    for report in reports:
        log.info("%s", report.line())


async def _beat(harvest: Harvest) -> None:
    """Tell /readyz, in whichever process, that this scheduler still ticks."""
    if not harvest.heartbeats.due() or harvest.stopping:
        return
    try:
        await anyio.to_thread.run_sync(harvest.heartbeats.beat)
    except Exception as exc:  # a store that fails now fails the collection too, and says so
        log.warning("heartbeat not written: %s", exc)


async def stop_collecting(scheduler: AsyncIOScheduler, harvest: Harvest) -> list[str]:
    """Stop ticking, let the runs in progress store what they have, then shut down."""
    scheduler.pause()
    unfinished = await harvest.stop()
    scheduler.shutdown(wait=False)
    with suppress(Exception):  # a store gone at stop: the heartbeat goes stale by itself
        await anyio.to_thread.run_sync(harvest.heartbeats.forget)
    return unfinished
