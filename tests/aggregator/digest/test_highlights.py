"""Choosing the highlights: engagement where there is some, recency and variety where not."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.digest.highlights import highlights
from aggregator.digest.post import DigestPost
from aggregator.digest.select import with_scores

ZONE = ZoneInfo("America/Toronto")
NINE = datetime(2026, 11, 25, 9, tzinfo=ZONE)
_ids = iter(range(1, 10_000))


def post(author: str, minutes: int, network: str = "mastodon", **counts: Any) -> DigestPost:
    """A post by `author`, `minutes` after nine, with the given likes/shares/replies."""
    likes, shares, replies = (counts.get(k, 0) for k in ("likes", "shares", "replies"))
    return DigestPost(
        id=next(_ids), url=None, network=network, kind="post", author_name=author,
        author_handle=f"@{author}", title=None, text=f"{author} {minutes}", html="",
        warning=None, image=None, avatar=None, posted_at=NINE + timedelta(minutes=minutes),
        likes=likes, shares=shares, replies=replies, featured=False, official=False,
        live_state=None, engagement=likes + 2 * shares + replies,
    )  # fmt: skip


def who(posts: list[DigestPost]) -> list[str]:
    return [p.author_name for p in posts]


def test_without_engagement_the_latest_posts_of_different_people() -> None:
    day = [post("ana", 0), post("ben", 60), post("ana", 120), post("cleo", 30), post("ana", 180)]
    # Ana posted last three times; she is heard once, then the others, newest first.
    assert who(highlights(with_scores(day), 3)) == ["ana", "ben", "cleo"]


def test_an_author_returns_only_when_nobody_else_is_left() -> None:
    day = [post("ana", m) for m in (0, 10, 20, 30)] + [post("ben", 5)]
    chosen = highlights(with_scores(day), 4)
    assert who(chosen) == ["ana", "ben", "ana", "ana"]
    assert [p.posted_at.minute for p in chosen if p.author_name == "ana"] == [30, 20, 10]


def test_networks_take_turns_when_counts_are_missing() -> None:
    day = [
        *(post(f"m{n}", 100 + n) for n in range(6)),  # the six latest are all Mastodon
        post("relay", 10, network="x"),
        post("news", 20, network="feed"),
    ]
    assert who(highlights(with_scores(day), 4)) == ["m5", "news", "relay", "m4"]


def test_a_network_without_counts_still_gets_a_turn_beside_engaged_ones() -> None:
    day = [
        post("popular", 0, likes=90),
        post("liked", 10, likes=40),
        post("quiet", 20),
        post("relay", 5, network="x"),  # a webhook post: the relay gives no counts
        post("sky", 30, network="bluesky", likes=3),
    ]
    chosen = highlights(with_scores(day), 3)
    assert who(chosen) == ["popular", "sky", "relay"]
    assert who(highlights(with_scores(day), 5)) == ["popular", "sky", "relay", "liked", "quiet"]


def test_engagement_is_weighed_against_each_network_average() -> None:
    day = [
        post("m1", 0, likes=400),
        post("m2", 0, likes=300),
        post("b1", 0, network="bluesky", likes=40),
        post("b2", 0, network="bluesky", likes=5),
    ]
    # 40 likes against Bluesky's average of 22.5 outrank 400 against Mastodon's 350.
    assert who(highlights(with_scores(day), 2)) == ["b1", "m1"]


def test_shares_weigh_double_and_engaged_posts_come_before_recent_ones() -> None:
    day = [post("late", 300), post("shared", 0, shares=5), post("liked", 10, likes=9)]
    assert who(highlights(with_scores(day), 3)) == ["shared", "liked", "late"]


def test_the_featured_posts_are_not_chosen_again_and_their_authors_wait_their_turn() -> None:
    featured = post("ana", 50, likes=10)
    day = with_scores([featured, post("ana", 60, likes=30), post("ben", 0), post("cleo", 5)])
    chosen = highlights(day, 3, shown=[featured])
    assert featured.id not in {p.id for p in chosen}
    assert who(chosen) == ["cleo", "ben", "ana"]


def test_fewer_posts_than_places_gives_them_all() -> None:
    day = with_scores([post("ana", 0), post("ben", 5, network="x")])
    assert sorted(who(highlights(day, 5))) == ["ana", "ben"]
    assert highlights([], 5) == []
