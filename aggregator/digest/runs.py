"""Each day's digest built, published and sent exactly once.

The `digests` row is the record: a run commits "sending" BEFORE it talks to the SMTP
server and "sent" after. Claiming happens in one serialized writing transaction (store.py),
so a second worker, a restart or a retry finds "sending" or "sent" and stays quiet. A row
left in "sending" means a process died mid-send: it is reported as interrupted and only a
person (`livewall digest --force`) sends it again, after checking what members received.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from aggregator.digest.models import FAILED, PUBLISHED, SENDING, SENT, Digest
from aggregator.digest.program import ProgramError, Session, load_program
from aggregator.digest.render import Edition, edition
from aggregator.digest.select import DayContent, choose, day_posts
from aggregator.digest.send import Envelope, SendError, build_message, recipients_line, send
from aggregator.models import utcnow
from aggregator.settings import Settings
from aggregator.store import Store

log = logging.getLogger("livewall.digest")


@dataclass(frozen=True)
class RunReport:
    day: date
    outcome: str  # nothing, published, sent, already-sent, interrupted, failed, missed
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome not in ("interrupted", "failed", "missed")


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
    def __init__(self, settings: Settings, store: Store, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.store = store
        self.env = env

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    @property
    def languages(self) -> tuple[str, ...]:
        """French always, English too when the event has it."""
        return ("fr", "en") if "en" in self.settings.event.languages else ("fr",)

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    # Building ---------------------------------------------------------------------------

    def program(self) -> tuple[list[Session], str | None]:
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
            self.settings.event.name, day, self.zone, posts, sessions, self.languages, problem
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

    def publish(self, content: DayContent, summary: str) -> Digest:
        """Create or refresh the day's record; its entry id and sending state are kept."""
        now = utcnow()
        with self.store.write() as session:
            row = session.get(Digest, content.day)
            if row is None:
                row = Digest(
                    day=content.day,
                    entry_id=entry_id(self.settings.server.public_url, content.day),
                    state=PUBLISHED,
                    published_at=now,
                    built_at=now,
                )
            row.posts, row.summary, row.built_at = content.numbers.posts, summary, now
            session.add(row)
        return row

    def _claim(self, day: date, force: bool) -> RunReport | None:
        """Mark the day "sending" unless it is sent or in doubt; None means go ahead."""
        with self.store.write() as session:
            row = session.get(Digest, day)
            assert row is not None, "publish before sending"
            if row.state == SENT and not force:
                return RunReport(
                    day, "already-sent", f"already sent at {_local(row.sent_at, self.zone)}"
                )
            if row.state == SENDING and not force:
                return RunReport(day, "interrupted", _interrupted(row, self.zone))
            row.state, row.sending_at, row.error = SENDING, utcnow(), None
            row.attempts += 1
            session.add(row)
        return None

    def _finish(self, day: date, state: str, recipients: int = 0, error: str | None = None) -> None:
        with self.store.write() as session:
            row = session.get(Digest, day)
            assert row is not None
            row.state, row.error = state, error
            if state == SENT:
                row.sent_at, row.recipients = utcnow(), recipients
            session.add(row)

    # Running ----------------------------------------------------------------------------

    def run(self, day: date, force: bool = False) -> RunReport:
        """Build and publish the day, then send it if email is configured and not yet sent."""
        content = self.content(day)
        if content.empty:
            return RunReport(day, "nothing", "no approved post that day: nothing to publish")
        french = self.edition(content, "fr")
        self.publish(content, french.preheader)
        page = f"{self.settings.server.public_url}/digest/{day.isoformat()}"
        digest = self.settings.digest
        if not digest.smtp_url or not digest.recipients:
            return RunReport(day, "published", f"published at {page} (email not configured)")
        claimed = self._claim(day, force)
        if claimed is not None:
            return claimed
        return self._send(day, french, page)

    def _send(self, day: date, french: Edition, page: str) -> RunReport:
        digest = self.settings.digest
        assert digest.smtp_url is not None
        envelope = Envelope(
            sender=digest.sender,
            recipients=digest.recipients,
            event_name=self.settings.event.name,
            page_url=page,
            archive_url=f"{self.settings.server.public_url}/digest/",
            host=urlsplit(self.settings.server.public_url).hostname or "localhost",
        )
        try:
            refused = send(build_message(french, envelope), envelope, digest.smtp_url, self.env)
        except SendError as exc:
            if exc.uncertain:  # leave "sending": a person decides (see module docstring)
                self._note_error(day, str(exc))
                return RunReport(day, "interrupted", f"{exc}; members may have received it")
            self._finish(day, FAILED, error=str(exc))
            return RunReport(day, "failed", str(exc))
        delivered = [r for r in digest.recipients if r not in refused]
        self._finish(
            day, SENT, len(delivered), f"refused: {', '.join(refused)}" if refused else None
        )
        return RunReport(day, "sent", f"published at {page}; sent to {recipients_line(delivered)}")

    def _note_error(self, day: date, error: str) -> None:
        with self.store.write() as session:
            row = session.get(Digest, day)
            if row is not None:
                row.error = error
                session.add(row)

    def catch_up(self, now: datetime | None = None) -> RunReport | None:
        """At start: send the last scheduled digest if it was missed by at most the grace."""
        now = now or utcnow()
        due = last_due(now, self.settings)
        day = due.date()
        row = self.record(day)
        if row is not None and row.state == SENT:
            return None
        if row is not None and row.state == SENDING:
            return RunReport(day, "interrupted", _interrupted(row, self.zone))
        late = now - due
        if late > timedelta(hours=self.settings.digest.catch_up_hours):
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
        return self.run(day)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "?"


def _interrupted(row: Digest, zone: ZoneInfo) -> str:
    return (
        f"a send started at {_local(row.sending_at, zone)} never finished"
        f"{' (' + row.error + ')' if row.error else ''}: check whether members received it, "
        f"then send again with: livewall digest --date {row.day} --force"
    )
