"""What the store holds: posts, sources' state, the change feed, moderation log, users, screens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from collectors.base import SourceState


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def sqlite_moment(value: datetime) -> str:
    """What `UTCDateTime` stores on SQLite — SQLAlchemy's text, microseconds always written —
    made by C calls alone: the ingest converts thousands a second (test_driver_rows.py holds
    the two to the same text)."""
    return _naive_utc(value).isoformat(" ", "microseconds")


def _naive_utc(value: datetime) -> datetime:
    """The moment in UTC, without its zone (as the column keeps it); a naive one is refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).replace(tzinfo=None)


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_column(nullable: bool = True, index: bool = False) -> Any:
    """A column of UTC moments (None until set, unless the caller always gives one)."""
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(sa.JSON(), nullable=False))


class Post(SQLModel, table=True):
    __tablename__ = "posts"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_posts_source_external_id"),
        sa.Index("ix_posts_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=500)
    network: str = Field(max_length=40)
    kind: str = Field(default="post", max_length=20)
    url: str | None = None
    author_handle: str = Field(max_length=300, index=True)
    author_name: str = ""
    author_avatar: str | None = None
    author_url: str | None = None
    title: str | None = None
    text: str = ""
    html: str = ""
    language: str | None = Field(default=None, max_length=10)
    created_at: datetime = utc_column(nullable=False)
    collected_at: datetime = utc_column(nullable=False)
    edited_at: datetime | None = utc_column()
    media: list[dict[str, Any]] = _json(list)
    hashtags: list[str] = _json(list)
    likes: int = 0
    shares: int = 0
    replies: int = 0
    content_warning: str | None = None
    sensitive: bool = False
    # Staff opt-in to show a content-warned or sensitive post uncovered.
    reveal: bool = False
    status: str = Field(default="pending", max_length=20)
    status_reason: str | None = None
    pinned: bool = False
    featured: bool = False
    official: bool = False
    live_state: str | None = Field(default=None, max_length=20)
    deleted: bool = False
    deleted_at: datetime | None = utc_column()
    dedupe_key: str | None = Field(default=None, max_length=500, index=True)
    fingerprint: str | None = Field(default=None, max_length=64, index=True)
    duplicate_of: int | None = None
    decided_at: datetime | None = utc_column()
    decided_by: str | None = None
    # The change sequence of this post's latest visible change.
    seq: int = Field(default=0, index=True)
    # An edit at the source that waits for a moderator, as {"values": {field: value},
    # "reason": why}: the row itself stays the version staff approved, which screens show.
    pending_edit: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON(none_as_null=True), nullable=True)
    )

    @property
    def visible(self) -> bool:
        """Whether a screen may show it: approved and not deleted, nothing else."""
        return self.status == "approved" and not self.deleted


class Source(SQLModel, table=True):
    __tablename__ = "sources"

    name: str = Field(primary_key=True, max_length=100)
    type: str = Field(max_length=40)
    cursor: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    extra: dict[str, Any] = _json(dict)
    last_attempt: datetime | None = utc_column()
    last_success: datetime | None = utc_column()
    consecutive_errors: int = 0
    last_error: str | None = None
    last_error_kind: str | None = Field(default=None, max_length=40)
    next_attempt: datetime | None = utc_column()
    paused: bool = False
    posts_collected: int = 0

    def state(self) -> SourceState:
        """What its collector resumes from: polling and streaming alike."""
        return SourceState(self.cursor, self.etag, self.last_modified, dict(self.extra))


class Change(SQLModel, table=True):
    """One visible change; its id is the sequence screens resume from (SSE Last-Event-ID)."""

    __tablename__ = "changes"

    seq: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # post, remove, screen, message…
    post_id: int | None = Field(default=None, index=True)
    screen: str | None = Field(default=None, max_length=100)
    payload: dict[str, Any] = _json(dict)
    created_at: datetime = utc_column(nullable=False)


class ModerationEntry(SQLModel, table=True):
    __tablename__ = "moderation_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(nullable=False, index=True)
    actor: str = Field(max_length=100)  # a user's name, or "rules"
    action: str = Field(max_length=40)
    post_id: int | None = Field(default=None, index=True)
    detail: str | None = None


# The log as rows written together (driver_rows.DriverRows), by the pipeline's rules and by
# moderators' decisions: an entry's id is never needed, so none is read back per row.
MODERATION_LOG = sa.Table("moderation_log", ModerationEntry.metadata)
LOGGED = ("at", "actor", "action", "post_id", "detail")
LogRow = tuple[datetime, str, str, int | None, str | None]


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    role: str = Field(default="moderator", max_length=20)
    password_hash: str = ""
    disabled: bool = False
    created_at: datetime = utc_column(nullable=False)
    # What each member of staff chose for themselves (language, keyboard shortcuts, notifications):
    # kept with the account, so it follows them from one computer to the next.
    preferences: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False)
    )


class Screen(SQLModel, table=True):
    """A screen's last heartbeat and the overrides staff set remotely."""

    __tablename__ = "screens"

    name: str = Field(primary_key=True, max_length=100)
    layout: str | None = Field(default=None, max_length=20)
    last_seen: datetime | None = utc_column()
    version: str | None = None
    last_event_id: int | None = None
    viewport: str | None = None
    client: str | None = None
    # The screen's service worker holds its last page: it can restart during an outage.
    offline_copy: bool | None = None


class Heartbeat(SQLModel, table=True):
    """A process that collects (`worker`, `run`) says here that its scheduler still ticks, so
    that a web process elsewhere can tell (/readyz)."""

    __tablename__ = "heartbeats"

    role: str = Field(primary_key=True, max_length=40)  # "scheduler": one that ticks
    host: str = Field(default="", max_length=255)
    pid: int = 0
    started_at: datetime = utc_column(nullable=False)
    last_tick: datetime = utc_column(nullable=False)
