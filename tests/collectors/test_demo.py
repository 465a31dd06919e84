"""The demo source: its previous day's posts, dated over that day in the event's zone."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from collectors.demo import bundled_posts, previous_day_posts
from tests.builders import source

ZONE = ZoneInfo("America/Toronto")
DAY = date(2026, 11, 24)


def test_previous_day_posts_fall_in_that_days_daytime_with_ids_of_their_own() -> None:
    posts = previous_day_posts(source(previous_day=40), DAY, ZONE)
    assert len(posts) == 40
    local = [p.created_at.astimezone(ZONE) for p in posts]
    assert {moment.date() for moment in local} == {DAY}
    assert min(local).time() == time(8, 0) and max(local).time() < time(18, 0)
    assert local == sorted(local)
    ids = [p.external_id for p in posts]
    assert len(set(ids)) == 40 and all(i.startswith("demo-2026-11-24-") for i in ids)


def test_previous_day_takes_the_last_bundled_posts_and_loops_past_them() -> None:
    bundled = bundled_posts()
    last = previous_day_posts(source(previous_day=2), DAY, ZONE)
    assert [p.author.handle for p in last] == [b["author"]["handle"] for b in bundled[-2:]]
    assert (
        len(previous_day_posts(source(previous_day=len(bundled) + 5), DAY, ZONE))
        == len(bundled) + 5
    )


def test_no_previous_day_by_default() -> None:
    assert previous_day_posts(source(), DAY, ZONE) == []
