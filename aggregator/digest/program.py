"""The event's program (iCalendar, from a file or a URL) and the posts grouped by session.

Grouping rule: a post belongs to every session running when it was posted (start <= posted
< end), so two parallel workshops each get the posts of their hour; members read by session
and would rather see a post twice than miss it under the session they followed. Posts
outside every session go under "Off the program". All-day entries (a DATE, not a time) are
not sessions: they would swallow the whole day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar

from aggregator.digest.post import DigestPost

FETCH_TIMEOUT = 15.0


class ProgramError(Exception):
    """The program cannot be read; the digest is built without sessions and says so."""


@dataclass(frozen=True)
class ProgramSession:
    """A timed entry of the event's program (a talk, a workshop): not a database session."""

    title: str
    start: datetime  # aware
    end: datetime
    room: str = ""

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class SessionGroup:
    session: ProgramSession | None  # None: posts outside every session
    posts: tuple[DigestPost, ...]  # oldest first

    @property
    def count(self) -> int:
        return len(self.posts)


def read_program(location: str, base_dir: Path) -> bytes:
    """The program's bytes from an http(s) URL, or a file path relative to the config file."""
    if location.startswith(("http://", "https://")):
        try:
            response = httpx.get(location, timeout=FETCH_TIMEOUT, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ProgramError(f"cannot fetch the program {location}: {exc}") from None
        return response.content
    path = base_dir / location
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"cannot read the program {path}: {exc.strerror}") from None


def parse_program(data: bytes, zone: ZoneInfo) -> list[ProgramSession]:
    """Timed VEVENTs as sessions, in start order, in the event's time zone; floating times
    are the event's local time."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ProgramError(f"the program is not valid iCalendar: {exc}") from None
    sessions = [s for e in calendar.walk("VEVENT") if (s := _session(e, zone)) is not None]
    return sorted(sessions, key=lambda s: (s.start, s.end, s.title))


def _session(event: Any, zone: ZoneInfo) -> ProgramSession | None:
    start = _moment(event.get("DTSTART"), zone)
    if start is None:
        return None
    end = _moment(event.get("DTEND"), zone)
    if end is None:
        duration = event.get("DURATION")
        end = start + (duration.dt if duration is not None else timedelta(hours=1))
    return ProgramSession(
        title=str(event.get("SUMMARY", "")).strip(),
        start=start,
        end=end,
        room=str(event.get("LOCATION", "")).strip(),
    )


def _moment(prop: Any, zone: ZoneInfo) -> datetime | None:
    value = getattr(prop, "dt", None)
    if not isinstance(value, datetime):
        return None  # missing, or an all-day DATE
    # In the event's zone: a session given in UTC is shown at the room's clock time.
    return value.astimezone(zone) if value.tzinfo is not None else value.replace(tzinfo=zone)


def load_program(location: str, base_dir: Path, zone: ZoneInfo) -> list[ProgramSession]:
    return parse_program(read_program(location, base_dir), zone)


def sessions_of_day(
    sessions: Sequence[ProgramSession], day: date, zone: ZoneInfo
) -> list[ProgramSession]:
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = start + timedelta(days=1)
    return [s for s in sessions if s.start < end and s.end > start]


def group_by_session(
    posts: Sequence[DigestPost], sessions: Sequence[ProgramSession], day: date, zone: ZoneInfo
) -> list[SessionGroup]:
    """The day's sessions that have posts, in program order, then "Off the program"."""
    groups: list[SessionGroup] = []
    placed: set[int] = set()
    for session in sessions_of_day(sessions, day, zone):
        inside = [p for p in posts if session.holds(p.posted_at)]
        placed.update(p.id for p in inside)
        if inside:
            groups.append(SessionGroup(session, _in_order(inside)))
    outside = [p for p in posts if p.id not in placed]
    if outside:
        groups.append(SessionGroup(None, _in_order(outside)))
    return groups


def _in_order(posts: list[DigestPost]) -> tuple[DigestPost, ...]:
    # A session reads as it happened; the highlights above are where ranking matters.
    return tuple(sorted(posts, key=lambda p: (p.posted_at, p.id)))
