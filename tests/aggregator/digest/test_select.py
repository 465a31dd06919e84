"""Choosing the day's content: local day, visible posts only, warnings, ranking, numbers."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from aggregator.digest.render import chart_svg
from aggregator.digest.select import choose, day_posts, day_window
from aggregator.store import Store
from tests.aggregator.digest.day import DAY, add_post, at, seed_day, seed_quiet_day

ZONE = ZoneInfo("America/Toronto")


def content(store: Store):  # type: ignore[no-untyped-def]
    return choose("Assises", DAY, ZONE, day_posts(store, DAY, ZONE), languages=("fr", "en"))


def test_the_local_day_and_visible_posts_only(store: Store) -> None:
    ids = seed_day(store)
    chosen = {p.id for p in content(store).posts}
    # 22:30 in Québec City is already the next day in UTC: it still belongs to the 25th.
    assert chosen == {
        ids[k] for k in ("opening", "popular", "quiet", "lunch", "warned", "video", "evening")
    }


def test_a_content_warned_post_keeps_only_its_warning(store: Store) -> None:
    ids = seed_day(store)
    warned = next(p for p in content(store).posts if p.id == ids["warned"])
    assert (warned.text, warned.html, warned.warning) == ("", "", "Harcèlement en ligne")
    assert warned.image is None


def test_featured_first_videos_apart_and_engagement_normalised_per_network(store: Store) -> None:
    ids = seed_day(store)
    day = content(store)
    assert [p.id for p in day.featured] == [ids["opening"]]
    assert [p.id for p in day.videos] == [ids["video"]]
    chosen = [p.id for p in day.highlights]
    assert ids["opening"] not in chosen and ids["video"] not in chosen
    # 40 likes against Bluesky's small average outranks 2 on Mastodon, 1 last.
    assert chosen.index(ids["popular"]) < chosen.index(ids["lunch"])
    assert day.highlights_basis == "mixed"  # the evening post has no engagement
    assert (
        day.featured[0].image is not None and day.featured[0].image.path == "/media/demo/stage.jpg"
    )


def test_a_day_without_engagement_still_has_highlights_and_every_post_in_its_hour(
    store: Store,
) -> None:
    ids = seed_quiet_day(store)
    day = content(store)
    assert day.featured == () and day.highlights_basis == "recency"
    # The video is not official here: nothing sets it apart, it is one of the four voices.
    assert {p.id for p in day.highlights} == set(ids.values())
    assert [p.author_name for p in day.highlights][:2] == ["Jean Côté", "Chaîne UMQ"]
    assert not day.by_session
    assert [(part.anchor, part.hour, len(part.posts)) for part in day.parts] == [
        ("h09", 9, 1), ("h11", 11, 1), ("h14", 14, 1), ("h16", 16, 1),
    ]  # fmt: skip


def test_a_day_whose_posts_are_all_engaged_is_ranked_by_engagement(store: Store) -> None:
    add_post(store, "m1", at(9), likes=4)
    add_post(store, "m2", at(10), likes=9)
    day = content(store)
    assert day.highlights_basis == "engagement"
    assert [p.author_name for p in day.highlights] == ["Auteur m2", "Auteur m1"]


def test_numbers_and_busiest_hour(store: Store) -> None:
    seed_day(store)
    for n in range(3):
        add_post(store, f"rush{n}", at(10, 50 + n), author_handle="@same@bsky.example")
    day = content(store)
    assert day.numbers.posts == 10
    assert day.numbers.contributors == 8
    assert day.numbers.networks == ("bluesky", "mastodon", "youtube")
    assert (day.numbers.busiest_hour, day.numbers.busiest_count) == (10, 5)
    assert day.hours[0] == (9, 1) and day.hours[-1] == (22, 1) and len(day.hours) == 14


def test_the_chart_is_an_svg_with_a_bar_per_hour() -> None:
    svg = str(chart_svg(((9, 1), (10, 4), (11, 0)), "Publications par heure"))
    assert svg.startswith("<svg") and svg.count("<rect") == 3 and 'class="bar peak"' in svg
    assert "style=" not in svg  # the pages' CSP refuses style attributes


def test_a_day_window_follows_daylight_saving() -> None:
    start, end = day_window(DAY.replace(month=11, day=1), ZONE)
    # Aware datetimes of one zone subtract as wall clocks: compare the instants in UTC.
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600
