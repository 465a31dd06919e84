"""What the store remembers of each day's digest: built when, sent or not, its feed identity."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from aggregator.models import UTCDateTime

# The states of one day's digest. "sending" is committed before the SMTP conversation starts:
# a row found in it later means a process died mid-send, and nobody knows what was delivered.
PUBLISHED, SENDING, SENT, FAILED = "published", "sending", "sent", "failed"


def _when(nullable: bool = True) -> datetime | None:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable))


class Digest(SQLModel, table=True):
    __tablename__ = "digests"

    day: date = Field(primary_key=True)
    # The Atom entry id, made once from the public URL and the day: a rebuild keeps it.
    entry_id: str = Field(max_length=300)
    state: str = Field(default=PUBLISHED, max_length=20)
    posts: int = 0
    summary: str = ""
    built_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    published_at: datetime = _when(nullable=False)  # type: ignore[assignment]
    sending_at: datetime | None = _when()
    sent_at: datetime | None = _when()
    recipients: int = 0
    attempts: int = 0
    error: str | None = None
