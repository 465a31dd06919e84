"""Staff messages on the screens: timed announcements and the emergency message.

An announcement shows on chosen screens (or all) until it ends or staff clear it, with an
optional image (checked and re-encoded by the wall, kept in its media cache; the message keeps
the file's name). An emergency message takes over every screen until staff clear it. Every change goes
through the change feed (kind "message" or "emergency", the message as payload), so an
open screen gets it within a second and a reconnecting one catches up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from aggregator.i18n import N_
from aggregator.models import UTCDateTime, _json, utcnow
from aggregator.store import Store

MAX_TEXT = 500
MAX_MINUTES = 24 * 60
# An image's name in the media cache: the SHA-256 of its re-encoded bytes, so a name is
# never reused for other content and screens may cache it forever.
IMAGE_NAME = re.compile(r"[0-9a-f]{64}\.(?:jpg|png)")
# Where the wall serves those images, on its own origin.
IMAGE_PATH = "/media/staff/"


class MessageError(Exception):
    """A message that cannot be sent or cleared; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="announcement", max_length=20)
    text: str = Field(max_length=MAX_TEXT)
    # Screen names; empty means every screen.
    screens: list[str] = _json(list)
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="api", max_length=100)
    ends_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    cleared_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True, index=True)
    )
    image: str | None = Field(default=None, max_length=80)

    def active(self, now: datetime) -> bool:
        return self.cleared_at is None and (self.ends_at is None or self.ends_at > now)

    def shown_on(self, screen: str) -> bool:
        return self.kind == "emergency" or not self.screens or screen in self.screens

    @property
    def image_url(self) -> str | None:
        return IMAGE_PATH + self.image if self.image else None

    def payload(self, now: datetime | None = None) -> dict[str, Any]:
        """What a screen receives: enough to show it, and to take it down on time."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "image": self.image_url,
            "screens": list(self.screens),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "active": self.active(now or utcnow()),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


def change_kind(message: Message) -> str:
    return "emergency" if message.kind == "emergency" else "message"


def send(
    store: Store,
    text: str,
    *,
    kind: str = "announcement",
    screens: Sequence[str] = (),
    minutes: int | None = None,
    actor: str = "api",
    known_screens: Sequence[str] | None = None,
    image: str | None = None,
) -> Message:
    """Put a message on the screens; an announcement needs a duration, an emergency does not.

    `image` is the name of an image already stored by the wall (see wall/messages.py).
    """
    text = check(text, kind, screens, minutes, known_screens, image)
    now = utcnow()
    message = Message(
        kind=kind,
        text=text,
        screens=[] if kind == "emergency" else list(dict.fromkeys(screens)),
        created_at=now,
        created_by=actor[:100],
        ends_at=now + timedelta(minutes=minutes) if minutes else None,
        image=image,
    )
    with store.write() as session:
        session.add(message)
        session.flush()
        _record(store, session, message)
    return message


def check(
    text: str,
    kind: str = "announcement",
    screens: Sequence[str] = (),
    minutes: int | None = None,
    known_screens: Sequence[str] | None = None,
    image: str | None = None,
) -> str:
    """The message's text with its spaces tidied, or a MessageError saying what is wrong.

    Callers with an image to store check first, so a refused message leaves no file behind.
    """
    text = " ".join(text.split())
    _check(text, kind, screens, minutes, known_screens)
    _check_image(image, kind)
    return text


def _check(
    text: str,
    kind: str,
    screens: Sequence[str],
    minutes: int | None,
    known: Sequence[str] | None,
) -> None:
    if kind not in ("announcement", "emergency"):
        raise MessageError(f"kind must be 'announcement' or 'emergency', got {kind!r}")
    if not text:
        raise MessageError(N_("text is empty"))
    if len(text) > MAX_TEXT:
        raise MessageError(f"text is {len(text)} characters long, at most {MAX_TEXT}")
    if kind == "announcement" and not minutes:
        raise MessageError(N_("an announcement needs 'minutes' (how long it stays on screen)"))
    if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        raise MessageError(f"minutes must be between 1 and {MAX_MINUTES}, got {minutes}")
    unknown = [s for s in screens if known is not None and s not in known]
    if unknown:
        raise MessageError(f"unknown screens {unknown} (known: {list(known or [])})")


def _check_image(image: str | None, kind: str) -> None:
    if image is None:
        return
    if kind == "emergency":
        # The emergency screen is text only: nothing may distract from what to do.
        raise MessageError(N_("an emergency message has no image"))
    if not IMAGE_NAME.fullmatch(image):
        raise MessageError(f"image {image!r} is not the name of a stored image")


def clear(store: Store, message_id: int, actor: str = "api") -> Message:
    """Take a message down at once, on every screen showing it."""
    with store.write() as session:
        message = session.get(Message, message_id)
        if message is None:
            raise MessageError(f"message {message_id} does not exist", status=404)
        if message.cleared_at is not None:
            raise MessageError(f"message {message_id} is already cleared", status=409)
        message.cleared_at = utcnow()
        session.add(message)
        _record(store, session, message)
    return message


def clear_emergencies(store: Store, actor: str = "api") -> list[Message]:
    """The one-button "all clear": every active emergency message taken down."""
    with store.read() as session:
        ids = [m.id for m in _active(session, utcnow()) if m.kind == "emergency"]
    return [clear(store, i, actor) for i in ids if i is not None]


def _record(store: Store, session: Session, message: Message) -> int:
    screen = message.screens[0] if len(message.screens) == 1 else None
    return store.add_change(session, change_kind(message), screen=screen, payload=message.payload())


def _active(session: Session, now: datetime) -> list[Message]:
    query = (
        select(Message)
        .where(col(Message.cleared_at).is_(None))
        .where(col(Message.ends_at).is_(None) | (col(Message.ends_at) > now))
        .order_by(col(Message.id))
    )
    return list(session.exec(query))


def active(store: Store, screen: str | None = None) -> list[Message]:
    """Messages on screen now (for one screen when named), oldest first."""
    with store.read() as session:
        found = _active(session, utcnow())
    return [m for m in found if screen is None or m.shown_on(screen)]


def recent(store: Store, limit: int = 50) -> list[Message]:
    """The latest messages, active or not, newest first (for staff)."""
    with store.read() as session:
        return list(session.exec(select(Message).order_by(col(Message.id).desc()).limit(limit)))


class Messages:
    """Staff messages on one event's screens: what the web layer calls (each method blocks;
    the wall runs them in threads). Screen names are checked against the configuration."""

    def __init__(self, store: Store, known_screens: Sequence[str]) -> None:
        self.store = store
        self.known_screens = tuple(known_screens)

    def check(
        self,
        text: str,
        kind: str = "announcement",
        screens: Sequence[str] = (),
        minutes: int | None = None,
        image: str | None = None,
    ) -> str:
        return check(text, kind, screens, minutes, self.known_screens, image)

    def send(
        self,
        text: str,
        *,
        kind: str = "announcement",
        screens: Sequence[str] = (),
        minutes: int | None = None,
        actor: str = "api",
        image: str | None = None,
    ) -> Message:
        return send(
            self.store, text, kind=kind, screens=screens, minutes=minutes, actor=actor,
            known_screens=self.known_screens, image=image,
        )  # fmt: skip

    def clear(self, message_id: int, actor: str = "api") -> Message:
        return clear(self.store, message_id, actor)

    def clear_emergencies(self, actor: str = "api") -> list[Message]:
        return clear_emergencies(self.store, actor)

    def active(self, screen: str | None = None) -> list[Message]:
        return active(self.store, screen)

    def recent(self, limit: int = 50) -> list[Message]:
        return recent(self.store, limit)
