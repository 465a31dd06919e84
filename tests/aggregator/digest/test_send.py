"""The email, end to end: a real SMTP server on 127.0.0.1 receives it and we read it back."""

from __future__ import annotations

import email
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from typing import Any

import anyio
import pytest

from aggregator.digest.jobs import scheduled_run
from aggregator.digest.models import FAILED, SENDING, SENT, DigestSend
from aggregator.digest.runs import DigestRuns
from aggregator.settings import Settings
from aggregator.store import Store
from tests.aggregator.digest.conftest import PROGRAM
from tests.aggregator.digest.day import DAY, FORBIDDEN, SMTPServer, free_port, seed_day
from tests.conftest import SettingsFactory

PUBLIC = "https://mur.example.org"


def settings_for(make_settings: SettingsFactory, smtp_url: str, *recipients: str) -> Settings:
    return make_settings(
        event={"name": "Assises de test", "hashtags": ["AssisesUMQ"], "program": str(PROGRAM)},
        server={"public_url": PUBLIC},
        digest={
            "smtp_url": smtp_url,
            "recipients": list(recipients) or ["membres@example.org"],
            "sender": "assises@example.org",
        },
    )


def received(server: SMTPServer, index: int = 0) -> EmailMessage:
    message = email.message_from_bytes(server.mailbox.messages[index].data, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_the_email_arrives_with_its_parts_headers_and_links(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    runs = DigestRuns(settings_for(make_settings, smtp_server.url), store, {})
    report = runs.run(DAY)
    assert report.outcome == "sent", report.message
    assert len(smtp_server.mailbox.messages) == 1
    message = received(smtp_server)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Assises de test — la journée du 25 novembre"
    assert message["From"] == "Assises de test <assises@example.org>"
    assert message["To"] == "membres@example.org"
    assert message["List-Unsubscribe"] == "<mailto:assises@example.org?subject=unsubscribe>"
    text, html = parts(message)
    page = f"{PUBLIC}/digest/2026-11-25"
    assert f'href="{page}"' in html and page in text
    assert f'href="{page}?lang=en"' in html  # the English edition, on the web
    # Approved posts are there; held, rejected, retracted, deleted, other days' and a
    # content-warned post's text are not, in either part.
    for wanted in ("Ouverture officielle des Assises", "Atelier sur l'habitation bondé"):
        assert wanted in html and wanted in text
    for body in (html, text):
        assert not [f for f in FORBIDDEN if f in body]
        assert "Harcèlement en ligne" in body
    # CSS inlined, a preheader, images by absolute URL through the wall's media route.
    assert 'class="d-masthead" style="' in html
    assert 'class="e-preheader"' in html and "7 publications" in html
    assert f'src="{PUBLIC}/media/demo/stage.jpg"' in html
    assert "Séance par séance" in html and "Hors programme" in html
    row = runs.send_record(DAY, "fr")
    assert row is not None and (row.state, row.recipients, row.attempts) == (SENT, 1, 1)


def test_several_recipients_get_one_message_without_seeing_each_other(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    settings = settings_for(make_settings, smtp_server.url, "a@example.org", "b@example.org")
    assert DigestRuns(settings, store, {}).run(DAY).outcome == "sent"
    (got,) = smtp_server.mailbox.messages
    assert got.recipients == ["a@example.org", "b@example.org"]
    assert received(smtp_server)["To"] == "Assises de test <assises@example.org>"


def test_a_second_scheduled_run_sends_nothing(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    runs = DigestRuns(settings_for(make_settings, smtp_server.url), store, {})
    runs.today = lambda: DAY  # type: ignore[method-assign]
    first = anyio.run(scheduled_run, runs)
    second = anyio.run(scheduled_run, runs)
    assert (first.outcome, second.outcome) == ("sent", "already-sent")
    assert len(smtp_server.mailbox.messages) == 1


def test_an_interrupted_send_is_reported_and_not_resent_until_forced(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    runs = DigestRuns(settings_for(make_settings, smtp_server.url), store, {})
    runs.run(DAY)
    with store.write() as session:  # as if the process died during the SMTP conversation
        row = session.get(DigestSend, (DAY, "fr"))
        assert row is not None
        row.state = SENDING
        session.add(row)
    report = runs.run(DAY)
    assert report.outcome == "interrupted" and not report.ok
    assert "--force" in report.message
    assert runs.catch_up(_due(runs) + timedelta(hours=1)) is not None
    assert len(smtp_server.mailbox.messages) == 1
    assert runs.run(DAY, force=True).outcome == "sent"
    assert len(smtp_server.mailbox.messages) == 2


def _due(runs: DigestRuns) -> Any:
    from datetime import datetime

    return datetime.combine(DAY, runs.settings.digest.send_at, tzinfo=runs.zone)


def test_an_unreachable_server_is_a_failure_that_may_be_retried(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    closed = f"smtp://127.0.0.1:{free_port()}"
    report = DigestRuns(settings_for(make_settings, closed), store, {}).run(DAY)
    assert report.outcome == "failed" and "cannot open an SMTP session" in report.message
    row = DigestRuns(settings_for(make_settings, closed), store, {}).send_record(DAY, "fr")
    assert row is not None and row.state == FAILED
    # Nothing was accepted, so the next run sends it without --force.
    assert (
        DigestRuns(settings_for(make_settings, smtp_server.url), store, {}).run(DAY).outcome
        == "sent"
    )


def test_without_email_settings_the_day_is_published_only(
    store: Store, make_settings: SettingsFactory
) -> None:
    seed_day(store)
    runs = DigestRuns(make_settings(server={"public_url": PUBLIC}), store, {})
    report = runs.run(DAY)
    assert report.outcome == "published" and f"{PUBLIC}/digest/2026-11-25" in report.message
    first = runs.record(DAY)
    assert (
        first is not None
        and first.entry_id == "tag:mur.example.org,2026-11-25:livewall/digest/2026-11-25"
    )
    runs.run(DAY)
    again = runs.record(DAY)
    assert (
        again is not None and again.entry_id == first.entry_id and again.built_at >= first.built_at
    )


@pytest.mark.parametrize("hours_ago, outcome", [(2, "sent"), (10, "missed")])
def test_a_missed_run_is_caught_up_within_the_grace_only(
    store: Store,
    make_settings: SettingsFactory,
    smtp_server: SMTPServer,
    hours_ago: int,
    outcome: str,
) -> None:
    seed_day(store)
    runs = DigestRuns(settings_for(make_settings, smtp_server.url), store, {})
    # The worker comes back `hours_ago` after 18:00 on the day; nothing was recorded.
    report = runs.catch_up(_due(runs) + timedelta(hours=hours_ago))
    assert report is not None and report.outcome == outcome
    assert len(smtp_server.mailbox.messages) == (1 if outcome == "sent" else 0)
    if outcome == "missed":
        assert "beyond the 6 h catch-up window" in report.message
        assert "livewall digest --date 2026-11-25" in report.message
        assert runs.record(DAY) is None
