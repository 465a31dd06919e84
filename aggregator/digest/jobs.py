"""The digest's place in the scheduler: a daily cron job and a catch-up at start."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from apscheduler.schedulers.base import BaseScheduler

from aggregator.digest.runs import DigestRuns, RunReport
from aggregator.models import utcnow

log = logging.getLogger("livewall.digest")

# Work to do at start before the catch-up looks for a missed day (the demo's previous day).
Seed = Callable[[], RunReport | None]


def add_digest_jobs(scheduler: BaseScheduler, runs: DigestRuns, seed: Seed | None = None) -> None:
    """Every day at `[digest] send_at` in the event's zone; and, once at start, the seed (if
    any) then the catch-up."""
    send_at = runs.settings.digest.send_at
    grace = int(runs.settings.digest.catch_up_hours * 3600) or 1
    scheduler.add_job(
        scheduled_run,
        "cron",
        hour=send_at.hour,
        minute=send_at.minute,
        timezone=runs.zone,
        args=[runs],
        id="digest",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=grace,
    )
    scheduler.add_job(
        catch_up, "date", args=[runs, seed], id="digest-catch-up", misfire_grace_time=None
    )


async def scheduled_run(runs: DigestRuns) -> RunReport:
    """Today's digest; blocking work (store, SMTP) runs in a thread, off the event loop."""
    report = await anyio.to_thread.run_sync(lambda: runs.run(runs.today()))
    _log(report)
    return report


async def catch_up(runs: DigestRuns, seed: Seed | None = None) -> RunReport | None:
    if seed is not None and (seeded := await anyio.to_thread.run_sync(seed)) is not None:
        _log(seeded)
    report = await anyio.to_thread.run_sync(lambda: runs.catch_up(utcnow()))
    if report is not None:
        _log(report)
    return report


def _log(report: RunReport) -> None:
    level = logging.INFO if report.ok else logging.WARNING
    log.log(level, "digest %s: %s: %s", report.day, report.outcome, report.message)
