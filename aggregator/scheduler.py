"""APScheduler only ticks: the schedule itself (next attempt, backoff) lives in the store."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from aggregator.demo_day import seeder
from aggregator.digest.jobs import add_digest_jobs
from aggregator.digest.runs import DigestRuns
from aggregator.harvest import Harvest

log = logging.getLogger("livewall.scheduler")

TICK_SECONDS = 1.0


def create_scheduler(
    harvest: Harvest, zone: ZoneInfo, tick: float = TICK_SECONDS
) -> AsyncIOScheduler:
    """A scheduler that starts due sources every tick; start it inside a running event loop."""
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
    runs = DigestRuns(harvest.settings, harvest.store, harvest.context.env)
    add_digest_jobs(scheduler, runs, seeder(harvest.pipeline, harvest.sources(), runs))
    return scheduler


async def _tick(harvest: Harvest) -> None:
    try:
        reports = await harvest.run_due()
    except asyncio.CancelledError:
        if not harvest.stopping:
            raise
        return  # a stop that did not wait for this run: not an error worth a traceback
    for report in reports:
        log.info("%s", report.line())


async def stop_collecting(scheduler: AsyncIOScheduler, harvest: Harvest) -> list[str]:
    """Stop ticking, let the runs in progress store what they have, then shut down."""
    scheduler.pause()
    unfinished = await harvest.stop()
    scheduler.shutdown(wait=False)
    return unfinished
