"""The English edition by email: its own recipients, its own language, its own "once"."""

from __future__ import annotations

import anyio

from aggregator.digest.jobs import scheduled_run
from aggregator.digest.models import SENDING, SENT, DigestSend
from aggregator.digest.runs import DigestRuns
from aggregator.settings import Settings
from aggregator.store import Store
from tests.aggregator.digest.day import DAY, FORBIDDEN, SMTPServer, seed_day
from tests.aggregator.digest.test_send import PUBLIC, parts, received
from tests.conftest import SettingsFactory

FRENCH = ("membres@example.org",)
ENGLISH = ("members@example.org", "guests@example.org")


def bilingual(
    make_settings: SettingsFactory,
    smtp_url: str,
    english: tuple[str, ...] = ENGLISH,
    languages: tuple[str, ...] = ("fr", "en"),
) -> Settings:
    return make_settings(
        event={"name": "Assises de test", "languages": list(languages)},
        server={"public_url": PUBLIC},
        digest={
            "smtp_url": smtp_url,
            "recipients": list(FRENCH),
            "recipients_en": list(english),
            "sender": "assises@example.org",
        },
    )


def by_recipients(server: SMTPServer) -> dict[tuple[str, ...], int]:
    """Which recipient list got which message (its index in the mailbox)."""
    return {tuple(got.recipients): i for i, got in enumerate(server.mailbox.messages)}


def test_both_editions_reach_their_readers_exactly_once_over_two_scheduled_runs(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    runs = DigestRuns(bilingual(make_settings, smtp_server.url), store, {})
    runs.today = lambda: DAY  # type: ignore[method-assign]
    first = anyio.run(scheduled_run, runs)
    second = anyio.run(scheduled_run, runs)
    assert (first.outcome, second.outcome) == ("sent", "already-sent"), first.message
    assert first.editions == (("fr", "sent"), ("en", "sent"))
    assert second.editions == (("fr", "already-sent"), ("en", "already-sent"))
    assert len(smtp_server.mailbox.messages) == 2
    index = by_recipients(smtp_server)
    assert set(index) == {FRENCH, ENGLISH}

    french, english = received(smtp_server, index[FRENCH]), received(smtp_server, index[ENGLISH])
    assert french["Subject"] == "Assises de test — la journée du 25 novembre"
    assert english["Subject"] == "Assises de test — the day of November 25"
    assert (french["Content-Language"], english["Content-Language"]) == ("fr-CA", "en-CA")
    text, html = parts(english)
    for heading in ("The day in five minutes", "The day in numbers", "Highlights"):
        assert heading in html and heading in text
    assert "La journée en cinq minutes" not in html and "Les moments forts" not in html
    assert f'href="{PUBLIC}/digest/2026-11-25?lang=en"' in html
    # The same data: the same posts, the same figures, none of the forbidden ones.
    assert "Ouverture officielle des Assises" in html and "7 posts" in html
    assert not [f for f in FORBIDDEN if f in html or f in text]
    for language in ("fr", "en"):
        row = runs.send_record(DAY, language)
        assert row is not None and (row.state, row.attempts) == (SENT, 1)
    assert runs.send_record(DAY, "en").recipients == 2  # type: ignore[union-attr]


def test_an_edition_added_later_is_sent_without_resending_the_other(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    french_only = DigestRuns(bilingual(make_settings, smtp_server.url, english=()), store, {})
    assert french_only.run(DAY).editions == (("fr", "sent"),)
    both = DigestRuns(bilingual(make_settings, smtp_server.url), store, {})
    assert both.run(DAY).editions == (("fr", "already-sent"), ("en", "sent"))
    assert [got.recipients for got in smtp_server.mailbox.messages] == [
        list(FRENCH),
        list(ENGLISH),
    ]


def test_an_interrupted_edition_holds_back_only_itself_and_force_can_target_it(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    runs = DigestRuns(bilingual(make_settings, smtp_server.url), store, {})
    runs.publish(runs.content(DAY), "")
    with store.write() as session:  # as if a process died while sending the English one
        session.add(DigestSend(day=DAY, language="en", state=SENDING, attempts=1))
    report = runs.run(DAY)
    assert report.outcome == "interrupted" and not report.ok
    assert report.editions == (("fr", "sent"), ("en", "interrupted"))
    assert "--force --lang en" in report.message
    assert runs.run(DAY, force=True, languages=["en"]).editions == (("en", "sent"),)
    assert [got.recipients for got in smtp_server.mailbox.messages] == [
        list(FRENCH),
        list(ENGLISH),
    ]


def test_without_english_in_the_event_no_english_email_goes_out(
    store: Store, make_settings: SettingsFactory, smtp_server: SMTPServer
) -> None:
    seed_day(store)
    # English readers listed with no English edition is refused at start (test_settings).
    settings = bilingual(make_settings, smtp_server.url, english=(), languages=("fr",))
    assert DigestRuns(settings, store, {}).run(DAY).editions == (("fr", "sent"),)
    assert [got.recipients for got in smtp_server.mailbox.messages] == [list(FRENCH)]
