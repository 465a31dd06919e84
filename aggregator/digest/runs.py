"""Each day's digest built, published and each language's edition sent exactly once.

The `digests` row is the published day; a `digest_sends` row per day and language is the
record of that edition's email: a run commits "sending" BEFORE it talks to the SMTP server
and "sent" after. Claiming happens in one serialized writing transaction (store.py), so a
second worker, a restart or a retry finds "sending" or "sent" and stays quiet. A row left in
"sending" means a process died mid-send: it is reported as interrupted and only a person
(`livewall digest --force [--lang en]`) sends it again, after checking what members received.
The French and English editions are claimed and sent independently: one failing or
interrupted never resends, nor holds back, the other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from aggregator.digest.models import FAILED, SENDING, SENT, Digest, DigestSend
from aggregator.digest.program import ProgramError, ProgramSession, load_program
from aggregator.digest.render import Edition, edition
from aggregator.digest.select import DayContent, choose, day_posts
from aggregator.digest.send import Envelope, SendError, build_message, recipients_line, send
from aggregator.media_urls import MediaUrls
from aggregator.metrics import Metrics
from aggregator.models import utcnow
from aggregator.settings import Settings
from aggregator.store import Store

log = logging.getLogger("livewall.digest")


# When editions end differently, the run's outcome is the one a person must act on first.
PRECEDENCE = ("interrupted", "failed", "sent", "already-sent")


@dataclass(frozen=True)
class RunReport:
    day: date
    outcome: str  # nothing, published, sent, already-sent, interrupted, failed, missed
    message: str
    editions: tuple[tuple[str, str], ...] = ()  # (language, outcome) of each email

    @property
    def ok(self) -> bool:
        return self.outcome not in ("interrupted", "failed", "missed")


def nothing(day: date) -> RunReport:
    return RunReport(day, "nothing", "no approved post that day: nothing to publish")


def combined(day: date, page: str, reports: Sequence[tuple[str, RunReport]]) -> RunReport:
    """One report for the run from each edition's."""
    outcome = min((r.outcome for _, r in reports), key=PRECEDENCE.index)
    details = "; ".join(f"{language}: {r.message}" for language, r in reports)
    editions = tuple((language, r.outcome) for language, r in reports)
    return RunReport(day, outcome, f"published at {page}; {details}", editions)


def entry_id(public_url: str, day: date) -> str:
    """A tag: URI (RFC 4151), minted once per day and kept in the store."""
    host = urlsplit(public_url).hostname or "localhost"
    return f"tag:{host},{day.isoformat()}:livewall/digest/{day.isoformat()}"


def last_due(now: datetime, settings: Settings) -> datetime:
    """The latest scheduled moment at or before `now`, in the event's time zone."""
    local = now.astimezone(settings.zone)
    moment = datetime.combine(local.date(), settings.digest.send_at, tzinfo=settings.zone)
    return moment if moment <= local else moment - timedelta(days=1)


class DigestRuns:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        env: Mapping[str, str],
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.env = env
        self.metrics = metrics or Metrics()
        # Signed like the web process signs them, so the email's images load from the wall.
        self.media = MediaUrls.for_store(store.url, env)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    @property
    def languages(self) -> tuple[str, ...]:
        """French always, English too when the event has it."""
        return ("fr", "en") if "en" in self.settings.event.languages else ("fr",)

    def mailing(self) -> dict[str, tuple[str, ...]]:
        """The editions to email and their recipients (none when email is not configured)."""
        digest = self.settings.digest
        if not digest.smtp_url:
            return {}
        lists = {"fr": digest.recipients, "en": digest.recipients_en}
        return {lang: lists[lang] for lang in self.languages if lists[lang]}

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    # Building ---------------------------------------------------------------------------

    def program(self) -> tuple[list[ProgramSession], str | None]:
        location = self.settings.event.program
        if not location:
            return [], None
        try:
            return load_program(location, self.settings.config_dir, self.zone), None
        except ProgramError as exc:
            log.warning("digest: %s", exc)
            return [], str(exc)

    def content(self, day: date) -> DayContent:
        sessions, problem = self.program()
        posts = day_posts(self.store, day, self.zone)
        return choose(
            self.settings.event.name,
            day,
            self.zone,
            posts,
            sessions,
            self.languages,
            problem,
            urls=self.media,
        )

    def edition(self, content: DayContent, language: str = "fr") -> Edition:
        return edition(content, language, self.settings.server.public_url)

    # Recording --------------------------------------------------------------------------

    def record(self, day: date) -> Digest | None:
        with self.store.read() as session:
            return session.get(Digest, day)

    def archive(self) -> list[Digest]:
        with self.store.read() as session:
            return list(session.exec(select(Digest).order_by(col(Digest.day).desc())))

    def sends(self, day: date) -> dict[str, DigestSend]:
        """Each edition's sending record for the day, by language."""
        with self.store.read() as session:
            rows = session.exec(select(DigestSend).where(col(DigestSend.day) == day))
            return {row.language: row for row in rows}

    def send_record(self, day: date, language: str) -> DigestSend | None:
        with self.store.read() as session:
            return session.get(DigestSend, (day, language))

    def publish(self, content: DayContent, summary: str) -> Digest:
        """Create or refresh the day's record; its entry id is kept."""
        now = utcnow()
        with self.store.write() as session:
            row = session.get(Digest, content.day)
            if row is None:
                row = Digest(
                    day=content.day,
                    entry_id=entry_id(self.settings.server.public_url, content.day),
                    published_at=now,
                    built_at=now,
                )
            row.posts, row.summary, row.built_at = content.numbers.posts, summary, now
            session.add(row)
        return row

    def _claim(self, day: date, language: str, force: bool) -> RunReport | None:
        """Mark the edition "sending" unless it is sent or in doubt; None means go ahead."""
        with self.store.write() as session:
            row = session.get(DigestSend, (day, language))
            if row is None:
                row = DigestSend(day=day, language=language)
            elif row.state == SENT and not force:
                return RunReport(
                    day, "already-sent", f"already sent at {_local(row.sent_at, self.zone)}"
                )
            elif row.state == SENDING and not force:
                return RunReport(day, "interrupted", _interrupted(row, self.zone))
            row.state, row.sending_at, row.error = SENDING, utcnow(), None
            row.attempts += 1
            session.add(row)
        return None

    def _finish(
        self, day: date, language: str, state: str, recipients: int = 0, error: str | None = None
    ) -> None:
        with self.store.write() as session:
            row = session.get(DigestSend, (day, language))
            assert row is not None
            row.state, row.error = state, error
            if state == SENT:
                row.sent_at, row.recipients = utcnow(), recipients
            session.add(row)

    # Running ----------------------------------------------------------------------------

    def run(
        self, day: date, force: bool = False, languages: Sequence[str] | None = None
    ) -> RunReport:
        """Build and publish the day, then email each edition not yet sent (or only
        `languages`, e.g. to force one edition again)."""
        report = self._run(day, force, languages)
        self.metrics.digest_runs.labels(report.outcome).inc()
        return report

    def _run(self, day: date, force: bool, languages: Sequence[str] | None) -> RunReport:
        content = self.content(day)
        if content.empty:
            return nothing(day)
        editions = {language: self.edition(content, language) for language in self.languages}
        self.publish(content, editions["fr"].preheader)
        page = self.page_url(day)
        mailing = {
            language: recipients
            for language, recipients in self.mailing().items()
            if languages is None or language in languages
        }
        if not mailing:
            return RunReport(day, "published", f"published at {page} (email not configured)")
        reports = [
            (language, self._claim(day, language, force) or self._send(day, editions[language]))
            for language in mailing
        ]
        return combined(day, page, reports)

    def publish_day(self, day: date) -> RunReport:
        """Build and publish the day's page and feed entry, and email nothing (the demo's
        previous day: members were never meant to receive it)."""
        content = self.content(day)
        if content.empty:
            return nothing(day)
        self.publish(content, self.edition(content, "fr").preheader)
        return RunReport(day, "published", f"published at {self.page_url(day)}")

    def page_url(self, day: date) -> str:
        return f"{self.settings.server.public_url}/digest/{day.isoformat()}"

    def _send(self, day: date, edition: Edition) -> RunReport:
        digest = self.settings.digest
        assert digest.smtp_url is not None
        language = edition.language
        recipients = self.mailing()[language]
        public_url = self.settings.server.public_url
        envelope = Envelope(
            sender=digest.sender,
            recipients=recipients,
            event_name=self.settings.event.name,
            page_url=f"{public_url}/digest/{day.isoformat()}"
            + ("" if language == "fr" else f"?lang={language}"),
            archive_url=f"{public_url}/digest/",
            host=urlsplit(public_url).hostname or "localhost",
        )
        try:
            refused = send(build_message(edition, envelope), envelope, digest.smtp_url, self.env)
        except SendError as exc:
            if exc.uncertain:  # leave "sending": a person decides (see module docstring)
                self._note_error(day, language, str(exc))
                return RunReport(day, "interrupted", f"{exc}; members may have received it")
            self._finish(day, language, FAILED, error=str(exc))
            return RunReport(day, "failed", str(exc))
        delivered = [r for r in recipients if r not in refused]
        problem = f"refused: {', '.join(refused)}" if refused else None
        self._finish(day, language, SENT, len(delivered), problem)
        return RunReport(day, "sent", f"sent to {recipients_line(delivered)}")

    def _note_error(self, day: date, language: str, error: str) -> None:
        with self.store.write() as session:
            row = session.get(DigestSend, (day, language))
            if row is not None:
                row.error = error
                session.add(row)

    def catch_up(self, now: datetime | None = None) -> RunReport | None:
        """At start: run the last scheduled digest if it was missed by at most the grace
        (only the editions not yet sent go out)."""
        now = now or utcnow()
        due = last_due(now, self.settings)
        day = due.date()
        sends = self.sends(day)
        unsent = [lang for lang in self.mailing() if lang not in sends or sends[lang].state != SENT]
        if self.record(day) is not None and not unsent:
            return None
        doubtful = [
            sends[lang] for lang in unsent if lang in sends and sends[lang].state == SENDING
        ]
        late = now - due
        if late <= timedelta(hours=self.settings.digest.catch_up_hours):
            return self.run(day)
        if doubtful:
            return RunReport(day, "interrupted", _interrupted(doubtful[0], self.zone))
        if not day_posts(self.store, day, self.zone):
            return None
        hours = late.total_seconds() / 3600
        return RunReport(
            day,
            "missed",
            f"the digest of {day} was due {hours:.1f} h ago, beyond the "
            f"{self.settings.digest.catch_up_hours:g} h catch-up window: not sent "
            f"(send it by hand: livewall digest --date {day})",
        )


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "?"


def _interrupted(row: DigestSend, zone: ZoneInfo) -> str:
    return (
        f"the {row.language} edition's send started at {_local(row.sending_at, zone)} never "
        f"finished{' (' + row.error + ')' if row.error else ''}: check whether members "
        f"received it, then send again with: "
        f"livewall digest --date {row.day} --force --lang {row.language}"
    )
