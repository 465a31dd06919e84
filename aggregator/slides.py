"""Sponsor and announcement slides: shown between posts, on a schedule, for a few seconds.

Staff add a slide (a text, an image, or both) for chosen screens (or all), between a start
and an end, and say how often it comes back: every N posts or every M seconds. A screen shows
it for `show_seconds` in place of its posts, then the posts come back: a slide never pushes
posts off for long. The screens keep the schedule themselves (they get every slide not yet
ended), so a slide starts and ends on time even while the network is down. Adding or taking
down a slide goes through the change feed (kind "slide"), with its audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from aggregator import audit
from aggregator.i18n import N_
from aggregator.messages import IMAGE_NAME, IMAGE_PATH, MessageError
from aggregator.models import UTCDateTime, _json, utcnow
from aggregator.store import Store

KINDS = ("sponsor", "announcement")
MAX_TEXT = 300
MAX_DAYS = 14
EVERY_POSTS = (1, 200)
EVERY_SECONDS = (10, 3600)
SHOW_SECONDS = (3, 60)
DEFAULT_SHOW_SECONDS = 8


class SlideError(MessageError):
    """A slide that cannot be added or taken down; `status` is the HTTP status to answer."""


class Slide(SQLModel, table=True):
    __tablename__ = "slides"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="sponsor", max_length=20)
    text: str = Field(default="", max_length=MAX_TEXT)
    image: str | None = Field(default=None, max_length=80)
    # Screen names; empty means every screen.
    screens: list[str] = _json(list)
    starts_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    every_posts: int | None = Field(default=None)
    every_seconds: int | None = Field(default=None)
    show_seconds: int = Field(default=DEFAULT_SHOW_SECONDS)
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="api", max_length=100)
    cleared_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )

    def pending(self, now: datetime) -> bool:
        """Not taken down and not over: on screen now or later."""
        return self.cleared_at is None and self.ends_at > now

    def scheduled(self, now: datetime) -> bool:
        """In its schedule now: a screen shows it between posts."""
        return self.pending(now) and self.starts_at <= now

    def shown_on(self, screen: str) -> bool:
        return not self.screens or screen in self.screens

    @property
    def image_url(self) -> str | None:
        return IMAGE_PATH + self.image if self.image else None

    def payload(self, now: datetime | None = None) -> dict[str, Any]:
        """What a screen receives: enough to keep the schedule on its own."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "image": self.image_url,
            "screens": list(self.screens),
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "every_posts": self.every_posts,
            "every_seconds": self.every_seconds,
            "show_seconds": self.show_seconds,
            "active": self.pending(now or utcnow()),
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class SlidePlan:
    """A slide as staff describe it, before it is checked and stored."""

    starts_at: datetime
    ends_at: datetime
    text: str = ""
    kind: str = "sponsor"
    screens: Sequence[str] = ()
    every_posts: int | None = None
    every_seconds: int | None = None
    show_seconds: int = DEFAULT_SHOW_SECONDS
    image: str | None = None


class Slides:
    """The `slides` table: what the web layer calls (each method blocks; the wall runs them
    in threads). Screen names are checked against the configuration."""

    def __init__(self, store: Store, known_screens: Sequence[str]) -> None:
        self.store = store
        self.known_screens = tuple(known_screens)

    def check(self, plan: SlidePlan, now: datetime | None = None) -> SlidePlan:
        """The plan with its text tidied, or a SlideError saying what is wrong. Callers with
        an image to store check first, so a refused slide leaves no file behind."""
        text = " ".join(plan.text.split())
        _check_content(plan.kind, text, plan.image)
        _check_screens(plan.screens, self.known_screens)
        _check_schedule(plan.starts_at, plan.ends_at, now or utcnow())
        _check_frequency(plan.every_posts, plan.every_seconds, plan.show_seconds)
        return replace(plan, text=text, screens=list(dict.fromkeys(plan.screens)))

    def add(self, plan: SlidePlan, actor: str = "api") -> Slide:
        plan = self.check(plan)
        slide = Slide(**asdict(plan), created_at=utcnow(), created_by=actor[:100])
        with self.store.write() as session:
            session.add(slide)
            session.flush()
            self._record(session, slide, actor, "slide added")
        return slide

    def take_down(self, slide_id: int, actor: str = "api") -> Slide:
        """Off every screen at once, and not shown again."""
        with self.store.write() as session:
            slide = session.get(Slide, slide_id)
            if slide is None:
                raise SlideError(f"slide {slide_id} does not exist", status=404)
            if slide.cleared_at is not None:
                raise SlideError(f"slide {slide_id} is already taken down", status=409)
            slide.cleared_at = utcnow()
            session.add(slide)
            self._record(session, slide, actor, "slide taken down")
        return slide

    def get(self, slide_id: int) -> Slide | None:
        with self.store.read() as session:
            return session.get(Slide, slide_id)

    def pending(self, screen: str | None = None, now: datetime | None = None) -> list[Slide]:
        """Slides on screen now or later (for one screen when named), in order of start."""
        now = now or utcnow()
        query = (
            select(Slide)
            .where(col(Slide.cleared_at).is_(None))
            .where(col(Slide.ends_at) > now)
            .order_by(col(Slide.starts_at), col(Slide.id))
        )
        with self.store.read() as session:
            found = list(session.exec(query))
        return [s for s in found if screen is None or s.shown_on(screen)]

    def recent(self, limit: int = 50) -> list[Slide]:
        """The latest slides, whatever their state, newest first (for staff)."""
        with self.store.read() as session:
            return list(session.exec(select(Slide).order_by(col(Slide.id).desc()).limit(limit)))

    def _record(self, session: Session, slide: Slide, actor: str, what: str) -> int:
        where = ", ".join(slide.screens) or "all screens"
        session.add(audit.entry(actor, "slide", f"{what} #{slide.id} ({where})"))
        screen = slide.screens[0] if len(slide.screens) == 1 else None
        return self.store.add_change(session, "slide", screen=screen, payload=slide.payload())


def _check_content(kind: str, text: str, image: str | None) -> None:
    if kind not in KINDS:
        raise SlideError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not text and image is None:
        raise SlideError(N_("a slide needs a text, an image, or both"))
    if len(text) > MAX_TEXT:
        raise SlideError(f"text is {len(text)} characters long, at most {MAX_TEXT}")
    if image is not None and not IMAGE_NAME.fullmatch(image):
        raise SlideError(f"image {image!r} is not the name of a stored image")


def _check_screens(screens: Sequence[str], known: Sequence[str]) -> None:
    unknown = [s for s in screens if s not in known]
    if unknown:
        raise SlideError(f"unknown screens {unknown} (known: {list(known)})")


def _check_schedule(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise SlideError(N_("start and end need a time zone"))
    if ends_at <= starts_at:
        raise SlideError(N_("the end must come after the start"))
    if ends_at <= now:
        raise SlideError(N_("the end is already past: the slide would never show"))
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        raise SlideError(f"a slide runs at most {MAX_DAYS} days")


def _check_frequency(posts: int | None, seconds: int | None, show: int) -> None:
    if (posts is None) == (seconds is None):
        raise SlideError(
            N_("say how often it comes back: every_posts or every_seconds (one of them)")
        )
    for name, value, (low, high) in (
        ("every_posts", posts, EVERY_POSTS),
        ("every_seconds", seconds, EVERY_SECONDS),
        ("show_seconds", show, SHOW_SECONDS),
    ):
        if value is not None and not low <= value <= high:
            raise SlideError(f"{name} must be between {low} and {high}, got {value}")
