"""A missed digest caught up by the real scheduler when the worker starts again."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

import anyio
import pytest

from aggregator.application import Livewall
from aggregator.digest.runs import last_due
from aggregator.models import utcnow
from aggregator.scheduler import create_scheduler
from aggregator.store import Store
from tests.aggregator.digest.conftest import PROGRAM
from tests.aggregator.digest.day import SMTPServer, add_post
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("hours_ago, sent", [(2, True), (10, False)])
async def test_start_up_catches_up_a_recent_miss_and_reports_an_old_one(
    store: Store,
    make_settings: SettingsFactory,
    smtp_server: SMTPServer,
    caplog: pytest.LogCaptureFixture,
    hours_ago: int,
    sent: bool,
) -> None:
    local_now = utcnow().astimezone(make_settings().zone)
    send_at = (local_now - timedelta(hours=hours_ago)).time().replace(second=0, microsecond=0)
    settings = make_settings(
        event={"name": "Assises", "program": str(PROGRAM)},
        digest={"send_at": send_at.strftime("%H:%M"), "smtp_url": smtp_server.url,
                "recipients": ["membres@example.org"]},
    )  # fmt: skip
    due = last_due(utcnow(), settings)
    # One approved post early on the day that was due; no digest recorded (the worker was down).
    add_post(store, "a", datetime.combine(due.date(), time(0, 1), tzinfo=settings.zone))
    app = Livewall(settings, store=store, env={})
    scheduler = create_scheduler(app.harvest, app.digest, settings.zone, tick=3600)
    with caplog.at_level(logging.INFO, logger="livewall.digest"):
        scheduler.start()
        try:
            with anyio.move_on_after(5):
                while not caplog.records:
                    await anyio.sleep(0.05)
        finally:
            scheduler.shutdown(wait=False)
            await app.aclose()
    assert len(smtp_server.mailbox.messages) == (1 if sent else 0)
    (record,) = caplog.records
    assert ("sent" if sent else "missed") in record.getMessage()
    if not sent:
        assert record.levelno == logging.WARNING and "--date" in record.getMessage()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert "digest" in jobs
