"""The program in iCalendar and posts grouped by session (overlaps, outside, all-day)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.digest.program import ProgramError, load_program, parse_program
from aggregator.digest.select import choose, day_posts
from aggregator.store import Store
from tests.aggregator.digest.conftest import PROGRAM
from tests.aggregator.digest.day import DAY, seed_day

ZONE = ZoneInfo("America/Toronto")


def test_reads_timed_sessions_in_order_and_skips_all_day_entries() -> None:
    sessions = load_program(PROGRAM.name, PROGRAM.parent, ZONE)
    assert [s.title for s in sessions] == [
        "Plénière d'ouverture",
        "Atelier : l'habitation en région",
        "Atelier : adaptation au climat",
        "Table ronde : sécurité des élus",
        "Plénière du jeudi",
    ]
    climate = sessions[2]
    # A UTC time with a DURATION, shown in the event's zone: 10:30 to 11:30.
    assert (climate.start.hour, climate.start.tzinfo) == (10, ZONE)
    assert climate.room == "Salle 301B"
    assert (climate.end - climate.start).total_seconds() == 3600
    # A floating time is the event's local time.
    assert sessions[3].start.astimezone(ZONE).hour == 14


def test_posts_under_every_session_they_fall_in_and_off_the_program(store: Store) -> None:
    ids = seed_day(store)
    sessions = load_program(str(PROGRAM), Path("/"), ZONE)
    day = choose("Assises", DAY, ZONE, day_posts(store, DAY, ZONE), sessions)
    assert day.by_session
    groups = {
        (part.session.title if part.session else None): {p.id for p in part.posts}
        for part in day.parts
    }
    assert groups == {
        "Plénière d'ouverture": {ids["opening"]},
        # Overlapping workshops: a post at 10:30 belongs to both.
        "Atelier : l'habitation en région": {ids["popular"], ids["quiet"]},
        "Atelier : adaptation au climat": {ids["popular"], ids["quiet"]},
        "Table ronde : sécurité des élus": {ids["warned"], ids["video"]},
        None: {ids["lunch"], ids["evening"]},
    }
    assert day.parts[-1].off_program  # "Off the program" comes last
    assert [part.anchor for part in day.parts] == ["s1", "s2", "s3", "s4", "off"]
    assert all(p.session is None or p.session.title != "Plénière du jeudi" for p in day.parts)
    # Under its session the day reads in order.
    for part in day.parts:
        assert [p.posted_at for p in part.posts] == sorted(p.posted_at for p in part.posts)


def test_a_program_without_sessions_that_day_gives_hours(store: Store) -> None:
    ids = seed_day(store)
    sessions = load_program(str(PROGRAM), Path("/"), ZONE)
    thursday = [s for s in sessions if s.title == "Plénière du jeudi"]
    day = choose("Assises", DAY, ZONE, day_posts(store, DAY, ZONE), thursday)
    assert not day.by_session
    assert [part.hour for part in day.parts] == [9, 10, 12, 14, 15, 22]
    assert {p.id for part in day.parts for p in part.posts} == {
        ids[k] for k in ("opening", "popular", "quiet", "lunch", "warned", "video", "evening")
    }


def test_a_broken_or_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="not valid iCalendar"):
        parse_program(b"this is no calendar", ZONE)
    with pytest.raises(ProgramError, match="cannot read the program"):
        load_program("nowhere.ics", tmp_path, ZONE)
