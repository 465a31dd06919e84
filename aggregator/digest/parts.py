"""The whole day, cut into parts a reader can jump to: program sessions, or hours.

With a program whose sessions that day hold posts, the parts are those sessions (a post posted
during two overlapping sessions is in both) and "Off the program" last; otherwise, each local
hour that has posts. Every post of the day is in at least one part, oldest first: the digest
reaches the whole day, not only its highlights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from zoneinfo import ZoneInfo

from aggregator.digest.post import DigestPost
from aggregator.digest.program import ProgramSession, group_by_session


@dataclass(frozen=True)
class DayPart:
    """A session (`session`), the posts off the program (neither), or an hour (`hour`)."""

    anchor: str  # the fragment id on the day's page: s1, s2…, off, h09…
    posts: tuple[DigestPost, ...]  # oldest first
    session: ProgramSession | None = None
    hour: int | None = None  # local hour

    @property
    def off_program(self) -> bool:
        return self.session is None and self.hour is None


def by_hour(posts: Sequence[DigestPost]) -> tuple[DayPart, ...]:
    """Each local hour with posts. `posts` are oldest first, so the two 1 a.m. hours of the
    autumn's daylight-saving night follow each other and make one part."""
    return tuple(
        DayPart(f"h{hour:02d}", tuple(group), hour=hour)
        for hour, group in groupby(posts, key=lambda p: p.posted_at.hour)
    )


def day_parts(
    posts: Sequence[DigestPost], sessions: Sequence[ProgramSession], day: date, zone: ZoneInfo
) -> tuple[DayPart, ...]:
    groups = group_by_session(posts, sessions, day, zone) if sessions else []
    if not any(group.session for group in groups):
        # No program, or none of its sessions that day held a post: "Off the program"
        # would be the whole day in one heap.
        return by_hour(posts)
    return tuple(
        DayPart(f"s{index}" if group.session else "off", group.posts, group.session)
        for index, group in enumerate(groups, 1)
    )
