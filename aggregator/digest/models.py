"""What the store remembers of each day's digest: the published day with its feed identity,
and the sending of each language's edition."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from aggregator.models import utc_column

# The states of one edition's sending. "sending" is committed before the SMTP conversation
# starts: a row found in it later means a process died mid-send, and nobody knows what was
# delivered. An edition without a row was never claimed (the day is only published).
SENDING, SENT, FAILED = "sending", "sent", "failed"


class Digest(SQLModel, table=True):
    """A published day: what the archive lists and the Atom feed's entry."""

    __tablename__ = "digests"

    day: date = Field(primary_key=True)
    # The Atom entry id, made once from the public URL and the day: a rebuild keeps it.
    entry_id: str = Field(max_length=300)
    posts: int = 0
    summary: str = ""
    built_at: datetime = utc_column(nullable=False)
    published_at: datetime = utc_column(nullable=False)


class DigestSend(SQLModel, table=True):
    """One language's email of one day: each is sent exactly once, independently."""

    __tablename__ = "digest_sends"

    day: date = Field(primary_key=True)  # the published day (digests.day)
    language: str = Field(primary_key=True, max_length=5)
    state: str = Field(default=SENDING, max_length=20)
    sending_at: datetime | None = utc_column()
    sent_at: datetime | None = utc_column()
    recipients: int = 0
    attempts: int = 0
    error: str | None = None
